import { memo } from "react";
import { areaRings, CrimeaMap, project, ringPoints, TERRITORY_COLOURS, useI18n } from "@fieldline/shared";
import type { Board, BoardRequest, BoardTechnician } from "./board";
import { PRIORITY_COLOURS, TECH_COLOURS } from "./colours";

/** Where a technician is: the last reported position, else the home base. */
function whereIs(tech: BoardTechnician): { lat: number; lon: number } | null {
  if (tech.lat != null && tech.lon != null) return { lat: tech.lat, lon: tech.lon };
  if (tech.home_lat != null && tech.home_lon != null) return { lat: tech.home_lat, lon: tech.home_lon };
  return null;
}

export interface Territory {
  id: string;
  name: string;
  area: { type?: unknown; coordinates?: unknown };
}

export function MapView(props: {
  board: Board;
  territories: Territory[];
  selectedTech: string | null;
  onSelectTech: (id: string) => void;
  onSelectJob: (id: string) => void;
}) {
  const { t, locale } = useI18n();
  const selected = props.board.technicians.find((tech) => tech.id === props.selectedTech);
  const start = selected ? whereIs(selected) : null;
  const routeLine = selected
    ? [
        ...(start ? [project(start.lon, start.lat)] : []),
        ...selected.route.filter((b) => b.site_lat != null && b.site_lon != null).map((b) => project(b.site_lon!, b.site_lat!)),
      ]
    : [];
  return (
    <section className="map" aria-label={t("map")}>
      <CrimeaMap locale={locale} label={t("map")}>
        {props.territories.map((territory, i) =>
          areaRings(territory.area).map((ring, j) => (
            <polygon
              key={`${territory.id}-${j}`}
              data-testid={`territory-${territory.id}`}
              points={ringPoints(ring)}
              fill={TERRITORY_COLOURS[i % TERRITORY_COLOURS.length]}
              fillOpacity={0.08}
              stroke={TERRITORY_COLOURS[i % TERRITORY_COLOURS.length]}
              strokeWidth={1.5}
            >
              <title>{territory.name}</title>
            </polygon>
          )),
        )}
        {routeLine.length > 1 && (
          <polyline
            data-testid="route-line"
            points={routeLine.map((p) => `${p.x},${p.y}`).join(" ")}
            fill="none"
            stroke="#1565c0"
            strokeWidth={3}
            strokeDasharray="8 4"
          />
        )}
        <JobMarks requests={props.board.requests} onSelectJob={props.onSelectJob} />
        {props.board.technicians.map((tech) => {
            const at = whereIs(tech);
            if (!at) return null;
            const { x, y } = project(at.lon, at.lat);
            return (
              <circle
                key={tech.id}
                data-testid={`map-tech-${tech.id}`}
                cx={x}
                cy={y}
                r={tech.id === props.selectedTech ? 11 : 8}
                fill={TECH_COLOURS[tech.status] ?? "#757575"}
                stroke="#fff"
                strokeWidth={2}
                tabIndex={0}
                onClick={() => props.onSelectTech(tech.id)}
              >
                <title>{`${tech.name} (${tech.status})`}</title>
              </circle>
            );
          })}
      </CrimeaMap>
    </section>
  );
}

/** The jobs on the map: drawn again only when the jobs change, not when a technician moves; and then only the
 * marks whose job changed. */
const JobMarks = memo(function JobMarks(props: { requests: BoardRequest[]; onSelectJob: (id: string) => void }) {
  return (
    <>
      {props.requests.map((r) =>
        r.lat != null && r.lon != null ? <JobMark key={r.request_id} job={r} onSelectJob={props.onSelectJob} /> : null,
      )}
    </>
  );
});

const JobMark = memo(function JobMark(props: { job: BoardRequest; onSelectJob: (id: string) => void }) {
  const r = props.job;
  const { x, y } = project(r.lon!, r.lat!);
  return (
    <rect
      data-testid={`map-job-${r.request_id}`}
      x={x - 7}
      y={y - 7}
      width={14}
      height={14}
      fill={PRIORITY_COLOURS[r.priority] ?? "#607d8b"}
      stroke={r.assignment ? "#222" : "#fff"}
      strokeWidth={2}
      tabIndex={0}
      onClick={() => props.onSelectJob(r.request_id)}
    >
      <title>{`${r.priority} ${r.kind}: ${r.description}`}</title>
    </rect>
  );
});
