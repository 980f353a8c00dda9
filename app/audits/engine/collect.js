// PitchFast in-page collector: ONE evaluate per form factor gathers everything the checks
// need. Bounded work on hostile pages: every list is capped, text is truncated.
async (opts) => {
  /*DESCRIBE*/
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
  // Lighthouse reads <meta> in <head> only, by lower-cased name (its MetaElements artifact).
  const headMetas = (name) => Array.from(document.querySelectorAll('head meta'))
    .filter((m) => (m.name || '').toLowerCase() === name).slice(0, 20).map((m) => m.content);
  // Visible to screen readers, as axe-core decides which elements a rule sees.
  const srVisible = (el) => {
    if (el.closest('[aria-hidden="true"], [inert]')) return false;
    if (el.checkVisibility) return el.checkVisibility({ visibilityProperty: true });
    const cs = getComputedStyle(el);
    return cs.display !== 'none' && cs.visibility !== 'hidden';
  };

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
    collected_at: Math.round(performance.now()),
    transfer_size: nav ? nav.transferSize : null,
  };

  // ---- head / SEO ----
  const jsonld = [];
  document.querySelectorAll('script[type="application/ld+json"]').forEach((s, i) => {
    if (i > 20) return;
    try { jsonld.push(JSON.parse(s.textContent)); } catch (e) { jsonld.push({ '@invalid': true }); }
  });
  // axe-core's heading levels: h1-h6 and role=heading, aria-level overriding the tag.
  const headingLevel = (h) => {
    const role = (h.getAttribute('role') || '').trim().toLowerCase();
    const tagLevel = /^h[1-6]$/.test(h.localName) ? Number(h.localName[1]) : null;
    if (role && role !== 'heading') return -1;
    const aria = h.getAttribute('aria-level');
    const n = parseInt(aria, 10);
    if (tagLevel && !aria) return tagLevel;
    if (isNaN(n) || n < 1) return tagLevel || 2;
    return n;
  };
  const headings = Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6,[role=heading]'))
    .slice(0, LIMIT).map((h) => ({ level: headingLevel(h), tag: h.localName,
      text: clip(h.textContent, 120), selector: selectorOf(h), box: boxOf(h),
      sr_visible: srVisible(h) }));
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
      src: img.currentSrc || img.src, alt: img.getAttribute('alt'), description: describe(img),
      role: img.getAttribute('role'), width_attr: img.hasAttribute('width'),
      height_attr: img.hasAttribute('height'),
      css_sized: !!(img.style.width && img.style.height) || img.style.aspectRatio !== '',
      natural_width: img.naturalWidth, natural_height: img.naturalHeight,
      box: b, visible: visible(img), selector: selectorOf(img),
      in_viewport: b.y < vh && b.y + b.height > 0,
    };
  });

  // ---- links and interactive targets ----
  // Lighthouse's AnchorElements: the text is innerText (no hidden text), its language the
  // document's single lang or the lang of the link's own content.
  const langEls = document.querySelectorAll('[lang]');
  const singleLang = langEls.length === 1 && /^(BODY|HTML)$/.test(langEls[0].nodeName)
    ? langEls[0].getAttribute('lang') : null;
  const langOf = (node) => {
    let cur = null;
    for (const child of node.querySelectorAll('*')) {
      if (!child.textContent) continue;
      const l = child.closest('[lang]')?.getAttribute('lang');
      if (!l) continue;
      if (!cur) { cur = l; continue; }
      if (cur.split('-')[0] !== l.split('-')[0]) return null;
    }
    return cur ?? node.closest('[lang]')?.getAttribute('lang') ?? null;
  };
  const HREF_ATTRS = ['target', 'download', 'ping', 'rel', 'hreflang', 'type', 'referrerpolicy'];
  const links = Array.from(document.querySelectorAll('a')).slice(0, LIMIT * 2).map((a) => {
    const svg = !(a instanceof HTMLAnchorElement);
    let href = null;
    try { href = svg ? new URL(a.href.baseVal, location.href).href : a.href; } catch (e) { href = ''; }
    const raw = a.getAttribute('href');
    let clicky = false;
    for (let e = a, i = 0; e && i < 30; e = e.parentElement, i++) {
      if (e.hasAttribute('onclick') || typeof e.onclick === 'function') { clicky = true; break; }
    }
    return {
      href: href || null, raw_href: raw, text: clip(a.textContent, 100),
      lh_text: ((svg ? a.textContent : a.innerText) || '').trim().slice(0, 200),
      text_lang: singleLang ?? langOf(a) ?? null,
      rel: svg ? '' : (a.rel || ''), name: (a.getAttribute('name') || '').trim(),
      role: (a.getAttribute('role') || '').trim(), id: a.getAttribute('id') || '',
      has_href: a.hasAttribute('href'), href_assoc: HREF_ATTRS.some((n) => a.hasAttribute(n)),
      listener: clicky,
      label: clip(a.getAttribute('aria-label') || a.title || (a.querySelector('img[alt]') || {}).alt, 100),
      onclick: a.hasAttribute('onclick'), selector: selectorOf(a), box: boxOf(a),
      visible: visible(a), description: describe(a),
    };
  });
  const targetSel = 'a[href], button, input:not([type="hidden"]), select, textarea, [role="button"], [onclick]';
  const targets = [];
  Array.from(document.querySelectorAll(targetSel)).slice(0, LIMIT).forEach((el) => {
    if (!visible(el)) return;
    const r = el.getBoundingClientRect();
    const inline = el.localName === 'a' && getComputedStyle(el).display === 'inline'
      && el.parentElement && clip(el.parentElement.textContent, 400).length > clip(el.textContent, 400).length + 20;
    targets.push({ selector: selectorOf(el), box: boxOf(el), w: r.width, h: r.height,
                   inline, text: clip(el.textContent || el.value || el.getAttribute('aria-label'), 60),
                   description: describe(el) });
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
      size = p.getClientRects().length ? parseFloat(getComputedStyle(p).fontSize) : -1;  // CSS px, as Lighthouse
      sizeCache.set(p, size);
    }
    if (size < 0) continue;
    totalChars += t.length;
    if (size < 12) {
      smallChars += t.length;
      if (smallSamples.length < 5) smallSamples.push({ selector: selectorOf(p), size_px: Math.round(size * 10) / 10, text: clip(t, 60), box: boxOf(p), description: { kind: 'text', text: clip(t, 60) } });
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
    lang: de.getAttribute('lang'), meta_description: headMetas('description'),
    meta_description_anywhere: metas('meta[name="description" i]').length,
    viewport: headMetas('viewport'), robots: metas('meta[name="robots" i], meta[name="googlebot" i]'),
    generator: metas('meta[name="generator" i]'),
    // Lighthouse's LinkElements: rel lower-cased as a whole, href resolved, where it sits.
    link_elements: Array.from(document.querySelectorAll('link')).filter((l) => l instanceof HTMLLinkElement)
      .filter((l) => /canonical|alternate/i.test(l.rel || '')).slice(0, 100)
      .map((l) => ({ rel: (l.rel || '').toLowerCase(), href: l.href, href_raw: l.getAttribute('href') || '',
                     hreflang: l.hreflang || '', source: l.closest('head') ? 'head' : 'body' })),
    og: { title: metas('meta[property="og:title"]')[0] || null, image: metas('meta[property="og:image"]')[0] || null },
    twitter_card: metas('meta[name="twitter:card"]')[0] || null,
    icons: Array.from(document.querySelectorAll('link[rel~="icon" i]')).slice(0, 5).map((l) => l.href),
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
