"""Public audit pages (issue 10): the link a prospect opens, its views and its PDF.

``operations`` publishes, revokes and rotates links and counts views; ``queries`` derives
tokens, finds a link by token and builds the page's read model; ``jobs`` prints the PDF.
"""
