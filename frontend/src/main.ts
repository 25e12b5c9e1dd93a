import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { applyTheme } from "./lib/theme";

applyTheme();
const target = document.getElementById("app");
if (target) {
  target.replaceChildren();
  mount(App, { target });
}
