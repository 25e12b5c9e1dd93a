// Placeholder page until the real UI (Svelte 5) lands.
import "./style.css";

function render(root: HTMLElement): void {
  const main = document.createElement("main");
  main.className = "placeholder";

  const title = document.createElement("h1");
  title.textContent = "Cairn";

  const line = document.createElement("p");
  const command = document.createElement("code");
  command.textContent = "cairn";
  line.append(
    "Your memory, on your devices. The desktop app is on its way; use the ",
    command,
    " command meanwhile.",
  );

  main.append(title, line);
  root.replaceChildren(main);
}

const root = document.getElementById("app");
if (root) {
  render(root);
}
