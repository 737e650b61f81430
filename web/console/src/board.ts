import type { DispatchComponents } from "@fieldline/shared";

/** GET /api/dispatch/board and the plan bodies the console reads, as the service's OpenAPI document declares them
 * (services/dispatch/api/desk_schemas.py; `make openapi` and `npm run gen` keep them in step). */
type Schemas = DispatchComponents["schemas"];
export type Board = Schemas["Board"];
export type BoardTechnician = Schemas["BoardTechnician"];
export type BoardRequest = Schemas["OpenJob"];
export type Booking = Schemas["BoardBooking"];
export type PlanChanges = Schemas["ReplanOut"] | Schemas["PlanDiffOut"];
