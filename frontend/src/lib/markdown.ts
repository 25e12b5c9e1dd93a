// Markdown for model output and memories. Model output is untrusted (a web
// page it read, a prompt injection): it is rendered inert. Raw HTML in the
// Markdown is shown as text, never parsed; images are not loaded (an image
// URL can carry data out of the vault to another server); links go only to
// http(s) and mailto and open outside the app; DOMPurify then cleans the
// result once more, so a mistake in the first layer is caught by the second.
import { Marked, type Tokens } from "marked";
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const languages = { bash, c, cpp, css, diff, go, java, javascript, json, python, rust, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(languages)) hljs.registerLanguage(name, lang);
hljs.registerAliases(["sh", "shell", "zsh"], { languageName: "bash" });
hljs.registerAliases(["js", "jsx", "mjs"], { languageName: "javascript" });
hljs.registerAliases(["ts", "tsx"], { languageName: "typescript" });
hljs.registerAliases(["py"], { languageName: "python" });
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["yml"], { languageName: "yaml" });
hljs.registerAliases(["golang"], { languageName: "go" });
hljs.registerAliases(["rs"], { languageName: "rust" });

export function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** safeHref keeps http(s) and mailto links; anything else (javascript:,
 * data:, vbscript:, file:, relative paths into the app) is dropped. */
export function safeHref(href: string): string | undefined {
  const h = href.trim();
  // Browsers ignore tabs and newlines inside a scheme ("java\tscript:").
  const compact = h.replace(/[\u0000-\u0020]/g, "").toLowerCase();
  if (/^(https?:\/\/|mailto:)/.test(compact)) return h;
  return undefined;
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHTML(text);
    },
    image({ href, text }: Tokens.Image): string {
      // Not loaded: shown as a link the person can choose to follow.
      const safe = safeHref(href);
      const label = escapeHTML(text || "image");
      return safe ? `<a href="${escapeHTML(safe)}">[${label}]</a>` : `[${label}]`;
    },
    link({ href, tokens }: Tokens.Link): string {
      const inner = this.parser.parseInline(tokens);
      const safe = safeHref(href);
      return safe ? `<a href="${escapeHTML(safe)}">${inner}</a>` : `<span class="dead-link">${inner}</span>`;
    },
    code({ text, lang }: Tokens.Code): string {
      const name = (lang ?? "").trim().split(/\s+/)[0] ?? "";
      let body: string;
      if (name && hljs.getLanguage(name)) {
        body = hljs.highlight(text, { language: name, ignoreIllegals: true }).value;
      } else {
        body = escapeHTML(text);
      }
      const label = name ? `<span class="code-lang">${escapeHTML(name)}</span>` : "";
      return `<div class="code-block">${label}<pre><code class="hljs">${body}</code></pre></div>`;
    },
  },
});

const purify = DOMPurify();
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    const href = node.getAttribute("href");
    if (!href || !safeHref(href)) {
      node.removeAttribute("href");
    } else {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  }
});

const purifyConfig = {
  ALLOWED_TAGS: [
    "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "input", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
  ],
  ALLOWED_ATTR: ["href", "class", "type", "checked", "disabled", "align", "start"],
  ALLOW_DATA_ATTR: false,
};

/** renderMarkdown turns untrusted Markdown into safe HTML. */
export function renderMarkdown(src: string): string {
  const html = marked.parse(src, { async: false }) as string;
  return purify.sanitize(html, purifyConfig) as unknown as string;
}
