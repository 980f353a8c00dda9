"""Print a public page to PDF in the worker's shared Chromium, with no network at all.

The job fetches the page and every file it uses through the app itself (a WSGI call, no
socket); here Chromium loads that page from memory: every request is answered from the
given resources or aborted, and the context inherits the engine's fail-closed proxy, so
nothing the page says can reach the network.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Browser, Route

#: A name that never resolves: the page's origin while printing.
ORIGIN = "http://print.pitchfast.invalid"
#: path (with query) → (body, content type)
Resources = dict[str, tuple[bytes, str]]


async def print_pdf(browser: Browser, path: str, resources: Resources) -> bytes:
    """``path`` (a key of ``resources``) printed to an A4 PDF with backgrounds."""
    context = await browser.new_context(java_script_enabled=False, service_workers="block",
                                        viewport={"width": 900, "height": 1200})
    try:
        async def answer(route: Route) -> None:
            parts = urlsplit(route.request.url)
            wanted = parts.path + (f"?{parts.query}" if parts.query else "")
            found = resources.get(wanted) if route.request.url.startswith(ORIGIN) else None
            if found is None:
                await route.abort()
                return
            await route.fulfill(status=200, body=found[0], content_type=found[1])

        await context.route("**/*", answer)
        page = await context.new_page()
        await page.goto(ORIGIN + path, wait_until="load", timeout=30_000)
        return await page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                              margin={"top": "12mm", "bottom": "12mm", "left": "10mm",
                                      "right": "10mm"})
    finally:
        await context.close()
