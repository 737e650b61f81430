import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { I18nProvider } from "@fieldline/shared";
import { App } from "./App";
import { messages } from "./messages";
import "./portal.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <I18nProvider messages={messages}>
      <App />
    </I18nProvider>
  </StrictMode>,
);
