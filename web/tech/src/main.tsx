import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { I18nProvider } from "@fieldline/shared";
import { App } from "./App";
import { messages } from "./messages";
import "./tech.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <I18nProvider messages={messages}>
      <App />
    </I18nProvider>
  </StrictMode>,
);

// The worker vite-plugin-pwa built (Workbox precache of the app): the app opens with no signal; scope /tech/.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => void navigator.serviceWorker.register("/tech/sw.js", { scope: "/tech/" }));
}
