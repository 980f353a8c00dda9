"""What each problem costs a business, in words its owner uses, and how hard it is to fix.

Keyed by check id; categories give the fallback (axe rules, checks added later). Effort is
one of ``quick`` (an hour or less), ``moderate`` (a day or so), ``bigger`` (a project).
"""

from __future__ import annotations

#: check id → (why it costs customers, effort)
WHY: dict[str, tuple[str, str]] = {
    "phone-visible": ("People who want to call you have to go looking for your number, "
                      "and many give up and call the next business instead.", "quick"),
    "contact-method": ("There is no easy way to get in touch from the page, so interested "
                       "visitors leave without contacting you.", "quick"),
    "cta-above-fold": ("The first screen does not tell visitors what to do next (call, book, "
                       "ask for a quote), so fewer of them do it.", "quick"),
    "address-visible": ("Local customers look for where you are; without an address or map "
                        "they are less sure you are nearby and real.", "quick"),
    "opening-hours": ("Visitors cannot see when you are open, so they may not risk a trip "
                      "or a call.", "quick"),
    "trust-signals": ("Reviews and a privacy policy reassure first-time visitors; without "
                      "them the site feels less trustworthy.", "moderate"),
    "stale-copyright": ("An old year in the footer makes the site look abandoned.", "quick"),
    "viewport": ("On phones the page shows up tiny and zoomed out, the first thing most "
                 "visitors see, and many leave at once.", "quick"),
    "horizontal-scroll": ("On phones the page is wider than the screen, so visitors have to "
                          "scroll sideways to read it.", "moderate"),
    "target-size": ("Buttons and links are too small or too close together to tap reliably "
                    "with a finger.", "moderate"),
    "font-size": ("Text is too small to read on a phone without zooming.", "quick"),
    "unsized-images": ("The page jumps around while images load, so visitors tap the wrong "
                       "thing or lose their place.", "quick"),
    "tap-to-call": ("On a phone, your number cannot be tapped to call; people have to copy "
                    "it by hand, and many will not.", "quick"),
    "http-status-code": ("Visitors get an error instead of your page.", "moderate"),
    "is-on-https": ("Browsers mark the site as \u201cNot secure\u201d, which scares visitors "
                    "away and hurts your place in Google.", "moderate"),
    "redirects-http": ("Some visitors land on the insecure version of your site.", "quick"),
    "redirect-chain": ("Visitors are bounced through several addresses before the page "
                       "loads, which makes it slower.", "quick"),
    "tls-certificate": ("The site's security certificate is a problem: browsers may warn "
                        "visitors away.", "quick"),
    "errors-in-console": ("Parts of the page are broken behind the scenes, which can stop "
                          "buttons, forms or menus from working.", "moderate"),
    "document-title": ("Google and browser tabs have no proper name for your page, so fewer "
                       "people click on it in search results.", "quick"),
    "title-length": ("Your page's name in Google results is cut off or too vague to "
                     "stand out.", "quick"),
    "meta-description": ("Google has to guess the text shown under your name in search "
                         "results, so the listing is less convincing.", "quick"),
    "meta-description-length": ("The summary under your name in Google is cut off or too "
                                "short to persuade.", "quick"),
    "heading-order": ("The page's headings are out of order, which makes it harder for "
                      "search engines and screen readers to follow.", "quick"),
    "single-h1": ("The page has no single clear main heading telling Google and visitors "
                  "what it is about.", "quick"),
    "is-crawlable": ("Search engines are told not to list this page, so people searching "
                     "for you will not find it.", "quick"),
    "robots-txt": ("The file that guides search engines is broken.", "quick"),
    "canonical": ("Search engines get mixed signals about which address is the real page.",
                  "quick"),
    "image-alt": ("Images have no description, so Google cannot understand them and "
                  "visitors using screen readers miss them.", "quick"),
    "link-text": ("Links such as \u201cclick here\u201d do not say where they go.", "quick"),
    "crawlable-anchors": ("Some links cannot be followed by search engines.", "quick"),
    "html-has-lang": ("The page does not say which language it is in, which confuses "
                      "translators and screen readers.", "quick"),
    "html-lang-valid": ("The page declares a language code that does not exist.", "quick"),
    "thin-content": ("There is very little text, so Google has little reason to show the "
                     "page for the searches your customers make.", "bigger"),
    "structured-data": ("Google cannot read your name, address and phone number as "
                        "business details, so your listing is plainer than competitors'.",
                        "moderate"),
    "server-response-time": ("The server takes a long time to start answering, so every "
                             "page feels slow.", "moderate"),
    "largest-contentful-paint": ("The main content takes a long time to appear; many "
                                 "visitors give up before it does.", "moderate"),
    "cumulative-layout-shift": ("Things move around while the page loads, so visitors tap "
                                "the wrong thing.", "moderate"),
    "first-contentful-paint": ("Visitors stare at a blank screen before anything appears.",
                               "moderate"),
    "total-byte-weight": ("The page is heavy to download, slow on phones and costly on "
                          "mobile data.", "moderate"),
    "image-delivery": ("Images are much bigger than they need to be, which slows the page "
                       "down.", "quick"),
    "uses-text-compression": ("The page is sent uncompressed, so it loads slower than it "
                              "should.", "quick"),
    "cache-headers": ("Returning visitors download the same files again every time.",
                      "quick"),
}

#: category → (why, effort) when a check has no entry of its own.
CATEGORY_WHY: dict[str, tuple[str, str]] = {
    "accessibility": ("Some visitors, including older people and anyone using a screen "
                      "reader, will struggle to use this part of the page.", "quick"),
    "speed": ("A slow page loses visitors before they see what you offer.", "moderate"),
    "mobile": ("Most local customers visit on a phone; this makes the site harder to use "
               "there.", "moderate"),
    "seo": ("This makes it harder for people searching on Google to find you.", "quick"),
    "security": ("Visitors and browsers trust the site less.", "moderate"),
    "conversion": ("Interested visitors are less likely to call, book or get in touch.",
                   "quick"),
}

EFFORT_LABELS = {"quick": "Quick fix", "moderate": "A day or so", "bigger": "A bigger job"}


def why(check_id: str, category: str) -> tuple[str, str]:
    """(why it costs customers, effort label) for a failing check."""
    text, effort = WHY.get(check_id) or CATEGORY_WHY.get(
        category, ("This makes the site work less well for your visitors.", "moderate"))
    return text, EFFORT_LABELS[effort]
