/** The colours the console draws technicians (by status) and jobs (by priority) in, on the map and the board. */
export const TECH_COLOURS: Record<string, string> = {
  available: "#2e7d32",
  en_route: "#1565c0",
  on_site: "#ef6c00",
  on_break: "#8e24aa",
  off_duty: "#757575",
};

export const PRIORITY_COLOURS: Record<string, string> = { P1: "#c62828", P2: "#ef6c00", P3: "#f9a825", P4: "#607d8b" };
