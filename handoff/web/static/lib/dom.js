/*
 * atende staff pages: DOM helpers shared by every page script (ES module, no build step).
 * Safety: text is only ever assigned with textContent / text nodes, never parsed as HTML.
 */

/**
 * A new element. attrs: `text` sets textContent, `className` (or `class`) the class; other keys
 * become attributes (true → empty attribute; null, undefined and false are left out).
 * children: a list of nodes or strings (null/undefined/false skipped), or one string (the text).
 */
export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (k) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = String(v);
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    });
  }
  if (typeof children === "string" || typeof children === "number") {
    node.textContent = String(children);
  } else {
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.append(c);
    });
  }
  return node;
}

export const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element (same attrs as el(), values stringified). */
export function svg(tag, attrs, children) {
  const node = document.createElementNS(SVG_NS, tag);
  Object.keys(attrs || {}).forEach(function (k) {
    const v = attrs[k];
    if (v === null || v === undefined) return;
    if (k === "text") node.textContent = v; else node.setAttribute(k, String(v));
  });
  (children || []).forEach(function (c) { node.append(c); });
  return node;
}

export function $(sel, root) { return (root || document).querySelector(sel); }
export function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
export function byTestId(id, root) { return $('[data-testid="' + id + '"]', root); }

/** Remove every child of node. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/**
 * Say text in an aria-live region: emptied first, then filled a moment later, so screen readers
 * repeat an identical message.
 */
export function announce(region, text) {
  if (!region) return;
  region.textContent = "";
  window.setTimeout(function () { region.textContent = text; }, 30);
}

/** Show an error text in node (hidden when empty). */
export function showError(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}
