import type { ReactNode } from "react";
import type { Locale } from "./i18n";

/** A schematic outline of the Crimean peninsula (lon, lat), shipped with the app: no tile server needed. */
const OUTLINE: ReadonlyArray<readonly [number, number]> = [
  [33.55, 46.12], [33.75, 46.0], [34.1, 45.95], [34.5, 45.95], [34.9, 45.82], [35.05, 45.65], [35.35, 45.45],
  [35.85, 45.45], [36.1, 45.47], [36.45, 45.35], [36.6, 45.25], [36.4, 45.05], [36.0, 45.0], [35.6, 45.05],
  [35.4, 45.0], [35.15, 44.85], [34.6, 44.7], [34.15, 44.45], [33.95, 44.38], [33.6, 44.42], [33.45, 44.55],
  [33.55, 44.85], [33.6, 45.05], [33.35, 45.18], [33.0, 45.28], [32.5, 45.35], [32.6, 45.5], [33.0, 45.6],
  [33.3, 45.8], [33.6, 46.0],
];

export const TOWNS: ReadonlyArray<{ lon: number; lat: number; ru: string; en: string }> = [
  { lon: 34.1, lat: 44.95, ru: "Симферополь", en: "Simferopol" },
  { lon: 33.52, lat: 44.61, ru: "Севастополь", en: "Sevastopol" },
  { lon: 34.16, lat: 44.5, ru: "Ялта", en: "Yalta" },
  { lon: 36.47, lat: 45.36, ru: "Керчь", en: "Kerch" },
  { lon: 35.38, lat: 45.03, ru: "Феодосия", en: "Feodosia" },
  { lon: 33.37, lat: 45.19, ru: "Евпатория", en: "Yevpatoria" },
  { lon: 34.41, lat: 44.67, ru: "Алушта", en: "Alushta" },
  { lon: 34.39, lat: 45.71, ru: "Джанкой", en: "Dzhankoi" },
  { lon: 34.97, lat: 44.85, ru: "Судак", en: "Sudak" },
];

const BOUNDS = { west: 32.4, east: 36.75, south: 44.3, north: 46.25 };
const WIDTH = 1000;
// Equirectangular at the region's middle latitude: distances look right enough at this scale.
const X_SCALE = WIDTH / (BOUNDS.east - BOUNDS.west);
const Y_SCALE = X_SCALE / Math.cos((((BOUNDS.north + BOUNDS.south) / 2) * Math.PI) / 180);
export const MAP_HEIGHT = Math.round((BOUNDS.north - BOUNDS.south) * Y_SCALE);

export function project(lon: number, lat: number): { x: number; y: number } {
  return { x: (lon - BOUNDS.west) * X_SCALE, y: (BOUNDS.north - lat) * Y_SCALE };
}

/** The point under map coordinates (x, y of the SVG's viewBox): where a click on the map falls. */
export function unproject(x: number, y: number): { lon: number; lat: number } {
  return { lon: BOUNDS.west + x / X_SCALE, lat: BOUNDS.north - y / Y_SCALE };
}

export const MAP_WIDTH = WIDTH;

/** The outer rings of a GeoJSON Polygon or MultiPolygon (a territory's area), as lists of (lon, lat). */
export function areaRings(area: { type?: unknown; coordinates?: unknown }): number[][][] {
  const coordinates = area.coordinates as number[][][] | number[][][][];
  if (area.type === "Polygon") return [(coordinates as number[][][])[0]!];
  return (coordinates as number[][][][]).map((polygon) => polygon[0]!);
}

/** An SVG `points` attribute for a ring of (lon, lat). */
export function ringPoints(ring: number[][]): string {
  return ring.map(([lon, lat]) => project(lon!, lat!)).map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
}

/** Colours the territories are told apart by, the same in every app. */
export const TERRITORY_COLOURS = ["#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457"];

/** A part of the map to show, in map units (see `project`); towns' dots and names keep their size on screen. */
export interface MapFocus {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** `viewBox` (map units, see `project`) or `focus` shows a part of the peninsula, e.g. one technician's day. */
export function CrimeaMap({
  locale,
  children,
  label,
  viewBox,
  focus,
}: {
  locale: Locale;
  children?: ReactNode;
  label: string;
  viewBox?: string;
  focus?: MapFocus;
}) {
  const view = focus ?? { x: 0, y: 0, width: WIDTH, height: MAP_HEIGHT };
  // a focused (zoomed) map is usually small on screen (a phone): its town names are sized to the view
  const scale = focus ? (view.width / WIDTH) * 2.2 : 1;
  const outline = OUTLINE.map(([lon, lat]) => {
    const { x, y } = project(lon, lat);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }).join(" ");
  return (
    <svg viewBox={viewBox ?? `${view.x} ${view.y} ${view.width} ${view.height}`} role="img" aria-label={label} className="crimea-map">
      <rect width={WIDTH} height={MAP_HEIGHT} fill="#dcecf7" />
      <polygon points={outline} fill="#f4f1e8" stroke="#8a9a9e" strokeWidth={(2 * view.width) / WIDTH} />
      {TOWNS.map((town) => {
        const { x, y } = project(town.lon, town.lat);
        return (
          <g key={town.en} className="town">
            <circle cx={x} cy={y} r={3 * scale} fill="#555" />
            <text x={x + 6 * scale} y={y - 6 * scale} fontSize={16 * scale} fill="#444">
              {town[locale]}
            </text>
          </g>
        );
      })}
      {children}
    </svg>
  );
}
