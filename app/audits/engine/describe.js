// describe(el): how a business owner would name an element, e.g. {kind: 'image', text:
// 'team-photo.jpg'} or {kind: 'link', text: 'Read more'}. Shared by collect.js and the axe run
// (collect.py splices this file into both). Bounded: text is clipped, never the whole page.
const describe = (el) => {
  const squash = (s, n) => (s || '').replace(/\s+/g, ' ').trim().slice(0, n || 80);
  const fileName = (url) => {
    if (!url) return '';
    if (/^data:/i.test(url)) return 'an embedded image';
    try {
      const parts = new URL(url, location.href).pathname.split('/').filter(Boolean);
      return squash(decodeURIComponent(parts[parts.length - 1] || url), 80);
    } catch (e) { return squash(url, 80); }
  };
  if (!el || el.nodeType !== 1) return { kind: 'element', text: '' };
  const tag = el.localName;
  const role = (el.getAttribute('role') || '').trim().toLowerCase();
  const aria = squash(el.getAttribute('aria-label'), 80);
  const own = () => squash(el.innerText !== undefined ? el.innerText : el.textContent, 80);
  if (tag === 'img' || (tag === 'input' && (el.type || '') === 'image')) {
    return { kind: 'image', text: fileName(el.currentSrc || el.src || el.getAttribute('src')),
             alt: el.getAttribute('alt') };
  }
  if (tag === 'svg' || role === 'img') return { kind: 'image', text: aria || squash(el.textContent, 60) };
  if (tag === 'a') {
    const img = el.querySelector('img');
    const label = aria || own() || squash(el.title, 80)
      || (img ? squash(img.getAttribute('alt'), 80) || fileName(img.currentSrc || img.src) : '');
    return { kind: 'link', text: label, href: squash(el.getAttribute('href'), 200) };
  }
  if (tag === 'button' || role === 'button' || (tag === 'input' && /^(submit|button|reset)$/.test(el.type))) {
    return { kind: 'button', text: aria || own() || squash(el.value, 80) || squash(el.title, 80) };
  }
  if (tag === 'input' || tag === 'select' || tag === 'textarea') {
    let label = aria || squash(el.getAttribute('placeholder'), 60);
    if (!label && el.labels && el.labels.length) label = squash(el.labels[0].innerText, 60);
    return { kind: 'field', text: label || squash(el.name, 60) || (el.type || tag) };
  }
  if (/^h[1-6]$/.test(tag) || role === 'heading') return { kind: 'heading', text: own() };
  if (tag === 'iframe' || tag === 'frame') return { kind: 'frame', text: squash(el.title, 60) || fileName(el.src) };
  if (tag === 'html' || tag === 'body') return { kind: 'page', text: '' };
  return { kind: 'text', text: own() || aria };
};
