/** The parts of GET /api/dispatch/board the console reads. The service declares /board as an untyped object
 * in its OpenAPI document today, so these are written from services/dispatch (control.py, db/); typing the
 * response in the service is left for a later change. */
export interface Booking {
  id: string;
  request_id: string;
  technician_id: string;
  status: string;
  planned_start: string;
  planned_end: string;
  eta: string;
  locked: boolean;
  site_lat: number | null;
  site_lon: number | null;
}

export interface BoardTechnician {
  id: string;
  name: string;
  status: string;
  on_shift: boolean;
  lat: number | null;
  lon: number | null;
  home_lat: number | null;
  home_lon: number | null;
  route: Booking[];
  shift: { starts_at: string; ends_at: string; overtime_until: string } | null;
  break_due: { earliest: string; latest: string; minutes: number } | null;
  break_taken: { start: string; end: string } | null;
}

export interface BoardRequest {
  request_id: string;
  kind: string;
  priority: string;
  status: string;
  description: string;
  address: string | null;
  lat: number | null;
  lon: number | null;
  response_due: string | null;
  assignment: Booking | null;
  minutes_left: number | null;
  predicted_arrival: string | null;
  at_risk: boolean;
}

export interface Board {
  at: string;
  day: string;
  technicians: BoardTechnician[];
  requests: BoardRequest[];
}
