// PitchFast in-page collector: ONE evaluate per form factor gathers everything the checks
// need. Bounded work on hostile pages: every list is capped, text is truncated.
async (opts) => {
  const LIMIT = opts.limit || 400;
  const vw = window.innerWidth, vh = window.innerHeight;
  // Without a viewport meta a phone zooms the page out: what the visitor sees is CSS px × scale.
  const vscale = window.visualViewport ? window.visualViewport.scale : 1;
  const sx = window.scrollX, sy = window.scrollY;
  const de = document.documentElement;
  const clip = (s, n) => (s || '').replace(/\s+/g, ' ').trim().slice(0, n || 200);

  const selectorOf = (el) => {
    const parts = [];
    for (let e = el, i = 0; e && e.nodeType === 1 && i < 5; e = e.parentElement, i++) {
      if (e.id && /^[A-Za-z][\w-]*$/.test(e.id)) { parts.unshift('#' + e.id); break; }
      let part = e.localName;
      const p = e.parentElement;
      if (p) {
        const same = Array.from(p.children).filter((c) => c.localName === e.localName);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(e) + 1})`;
      }
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const boxOf = (el) => {
    const r = el.getBoundingClientRect();
    return { x: Math.round(r.left + sx), y: Math.round(r.top + sy),
             width: Math.round(r.width), height: Math.round(r.height) };
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    if (el.checkVisibility) return el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
    const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none' && Number(cs.opacity) > 0.05;
  };
  const metas = (sel, attr) => Array.from(document.querySelectorAll(sel))
    .slice(0, 20).map((m) => m.getAttribute(attr || 'content'));

  // ---- performance (buffered observers) ----
  const observe = (type) => new Promise((resolve) => {
    const out = [];
    try {
      const po = new PerformanceObserver((l) => out.push(...l.getEntries()));
      po.observe({ type, buffered: true });
      setTimeout(() => { out.push(...po.takeRecords()); po.disconnect(); resolve(out); }, 30);
    } catch (e) { resolve(out); }
  });
  const [lcpEntries, shiftEntries] = await Promise.all([
    observe('largest-contentful-paint'), observe('layout-shift')]);
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = {};
  performance.getEntriesByType('paint').forEach((p) => { paint[p.name] = p.startTime; });
  let cls = 0, sessionValue = 0, sessionStart = 0, last = 0;
  shiftEntries.forEach((e) => {
    if (e.hadRecentInput) return;
    if (e.startTime - last > 1000 || e.startTime - sessionStart > 5000) {
      sessionValue = 0; sessionStart = e.startTime;
    }
    sessionValue += e.value; last = e.startTime; cls = Math.max(cls, sessionValue);
  });
  const lcpLast = lcpEntries[lcpEntries.length - 1];
  const perf = {
    ttfb: nav ? Math.round(nav.responseStart - nav.startTime) : null,
    dom_content_loaded: nav ? Math.round(nav.domContentLoadedEventEnd) : null,
    load: nav && nav.loadEventEnd ? Math.round(nav.loadEventEnd) : null,
    fcp: paint['first-contentful-paint'] != null ? Math.round(paint['first-contentful-paint']) : null,
    lcp: lcpLast ? Math.round(lcpLast.startTime) : null,
    lcp_element: lcpLast && lcpLast.element ? selectorOf(lcpLast.element) : null,
    cls: Math.round(cls * 1000) / 1000,
    transfer_size: nav ? nav.transferSize : null,
  };

  // ---- head / SEO ----
  const jsonld = [];
  document.querySelectorAll('script[type="application/ld+json"]').forEach((s, i) => {
    if (i > 20) return;
    try { jsonld.push(JSON.parse(s.textContent)); } catch (e) { jsonld.push({ '@invalid': true }); }
  });
  const headings = Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).slice(0, LIMIT)
    .map((h) => ({ level: Number(h.localName[1]), text: clip(h.textContent, 120),
                   selector: selectorOf(h) }));
  const head = document.head || document.createElement('head');
  const blocking = Array.from(head.querySelectorAll('link[rel~="stylesheet"], script[src]'))
    .filter((e) => e.localName === 'link'
      ? (!e.media || e.media === 'all' || e.media === 'screen') && !e.disabled
      : !e.async && !e.defer && e.type !== 'module')
    .slice(0, 50).map((e) => e.href || e.src);

  // ---- images ----
  const images = Array.from(document.images).slice(0, LIMIT).map((img) => {
    const b = boxOf(img);
    return {
      src: img.currentSrc || img.src, alt: img.getAttribute('alt'),
      role: img.getAttribute('role'), width_attr: img.hasAttribute('width'),
      height_attr: img.hasAttribute('height'),
      css_sized: !!(img.style.width && img.style.height) || img.style.aspectRatio !== '',
      natural_width: img.naturalWidth, natural_height: img.naturalHeight,
      box: b, visible: visible(img), selector: selectorOf(img),
      in_viewport: b.y < vh && b.y + b.height > 0,
    };
  });

  // ---- links and interactive targets ----
  const links = Array.from(document.querySelectorAll('a')).slice(0, LIMIT * 2).map((a) => ({
    href: a.href || null, raw_href: a.getAttribute('href'), text: clip(a.textContent, 100),
    label: clip(a.getAttribute('aria-label') || a.title || (a.querySelector('img[alt]') || {}).alt, 100),
    onclick: a.hasAttribute('onclick'), selector: selectorOf(a), box: boxOf(a),
    visible: visible(a),
  }));
  const targetSel = 'a[href], button, input:not([type="hidden"]), select, textarea, [role="button"], [onclick]';
  const targets = [];
  Array.from(document.querySelectorAll(targetSel)).slice(0, LIMIT).forEach((el) => {
    if (!visible(el)) return;
    const r = el.getBoundingClientRect();
    const inline = el.localName === 'a' && getComputedStyle(el).display === 'inline'
      && el.parentElement && clip(el.parentElement.textContent, 400).length > clip(el.textContent, 400).length + 20;
    targets.push({ selector: selectorOf(el), box: boxOf(el), w: r.width, h: r.height,
                   inline, text: clip(el.textContent || el.value || el.getAttribute('aria-label'), 60) });
  });
  const ctas = targets.filter((t) => t.box.y < vh && t.text).map((t) => ({ text: t.text, box: t.box, selector: t.selector }));
  ctas.push(...links.filter((l) => l.visible && l.box.y < vh && /^(tel|mailto):/i.test(l.raw_href || ''))
    .map((l) => ({ text: l.text || l.raw_href, box: l.box, selector: l.selector, href: l.raw_href })));

  // ---- text and font sizes ----
  const body = document.body;
  const text = body ? clip(body.innerText, 30000) : '';
  const walker = document.createTreeWalker(body || de, NodeFilter.SHOW_TEXT);
  let smallChars = 0, totalChars = 0, nodes = 0;
  const smallSamples = [];
  const sizeCache = new Map();
  while (walker.nextNode() && nodes < 4000) {
    const t = walker.currentNode.nodeValue.trim();
    if (!t) continue;
    const p = walker.currentNode.parentElement;
    if (!p || /^(script|style|noscript)$/.test(p.localName)) continue;
    nodes++;
    let size = sizeCache.get(p);
    if (size === undefined) {
      size = p.getClientRects().length ? parseFloat(getComputedStyle(p).fontSize) * vscale : -1;
      sizeCache.set(p, size);
    }
    if (size < 0) continue;
    totalChars += t.length;
    if (size < 12) {
      smallChars += t.length;
      if (smallSamples.length < 5) smallSamples.push({ selector: selectorOf(p), size: Math.round(size * 10) / 10, text: clip(t, 60), box: boxOf(p) });
    }
  }

  // ---- forms, frames, libraries ----
  const forms = Array.from(document.forms).slice(0, 20).map((f) => ({
    action: f.action, method: f.method, selector: selectorOf(f),
    fields: Array.from(f.elements).slice(0, 30).map((e) => (e.type || e.localName) + ':' + (e.name || '')),
  }));
  const iframes = Array.from(document.querySelectorAll('iframe')).slice(0, 30)
    .map((f) => f.src || f.getAttribute('src') || '');
  const w = window;
  const ver = (f) => { try { return f() || null; } catch (e) { return null; } };
  const libs = {
    jquery: ver(() => w.jQuery && w.jQuery.fn && w.jQuery.fn.jquery),
    'jquery-ui': ver(() => w.jQuery && w.jQuery.ui && w.jQuery.ui.version),
    react: ver(() => (w.React && w.React.version) || (document.querySelector('[data-reactroot]') ? 'detected' : null)),
    vue: ver(() => (w.Vue && w.Vue.version) || (document.querySelector('[data-v-app]') ? 'detected' : null)),
    angular: ver(() => (w.angular && w.angular.version && w.angular.version.full)
      || (document.querySelector('[ng-version]') || {}).getAttribute?.('ng-version')),
    bootstrap: ver(() => w.bootstrap && w.bootstrap.Tooltip && w.bootstrap.Tooltip.VERSION),
    lodash: ver(() => w._ && w._.VERSION),
    moment: ver(() => w.moment && w.moment.version),
    gsap: ver(() => w.gsap && w.gsap.version),
    next: ver(() => w.__NEXT_DATA__ ? 'detected' : null),
    nuxt: ver(() => w.__NUXT__ ? 'detected' : null),
  };
  const globals = ['Shopify', 'wixBiSession', 'Squarespace', 'Webflow', 'wp', 'ga', 'gtag',
    'dataLayer', 'fbq', 'Drupal', 'Joomla', 'GoDaddy', 'Weebly', 'hj', '_hsq', 'Calendly']
    .filter((g) => { try { return w[g] !== undefined; } catch (e) { return false; } });

  return {
    url: location.href, title: document.title, title_count: document.querySelectorAll('title').length,
    lang: de.getAttribute('lang'), meta_description: metas('meta[name="description" i]'),
    viewport: metas('meta[name="viewport" i]'), robots: metas('meta[name="robots" i], meta[name="googlebot" i]'),
    generator: metas('meta[name="generator" i]'),
    canonical: metas('link[rel~="canonical" i]', 'href'),
    hreflang: Array.from(document.querySelectorAll('link[rel~="alternate"][hreflang]')).slice(0, 50)
      .map((l) => ({ lang: l.getAttribute('hreflang'), href: l.getAttribute('href') })),
    og: { title: metas('meta[property="og:title"]')[0] || null, image: metas('meta[property="og:image"]')[0] || null },
    twitter_card: metas('meta[name="twitter:card"]')[0] || null,
    headings, images, links, targets, ctas, forms, iframes, jsonld, blocking,
    scripts: Array.from(document.scripts).slice(0, 80).map((s) => s.src).filter(Boolean),
    stylesheets: Array.from(document.querySelectorAll('link[rel~="stylesheet"]')).slice(0, 50).map((l) => l.href),
    text, word_count: (text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) || []).length,
    font: { small_chars: smallChars, total_chars: totalChars, samples: smallSamples },
    address_tags: Array.from(document.querySelectorAll('address')).slice(0, 5).map((a) => clip(a.innerText, 200)),
    footer_text: clip((document.querySelector('footer') || {}).innerText || text.slice(-1500), 1500),
    dom_size: document.getElementsByTagName('*').length,
    doc_width: Math.max(de.scrollWidth, body ? body.scrollWidth : 0),
    doc_height: Math.max(de.scrollHeight, body ? body.scrollHeight : 0),
    viewport_width: vw, viewport_height: vh, visual_scale: vscale, perf, libs, globals,
  };
}
