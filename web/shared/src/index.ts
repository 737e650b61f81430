export * from "./api";
export * from "./auth";
export * from "./CrimeaMap";
export * from "./i18n";
export * from "./sse";
export * from "./time";
export * from "./SignInGate";
export * from "./pictures";
