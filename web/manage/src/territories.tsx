import { useCallback, useEffect, useState, type MouseEvent } from "react";
import { areaRings, CrimeaMap, project, ringPoints, TERRITORY_COLOURS, unproject, useI18n } from "@fieldline/shared";
import { must, useWorkspace, type Territory } from "./api";
import { mapPoint } from "./estate";

export function TerritoriesView() {
  const { t, locale } = useI18n();
  const { api, fail } = useWorkspace();
  const [territories, setTerritories] = useState<Territory[]>([]);
  const [drawing, setDrawing] = useState<number[][]>([]);
  const [name, setName] = useState("");
  const [editing, setEditing] = useState<Territory | null>(null);
  const reload = useCallback(() => {
    must(api.contracts.GET("/territories", { params: { query: { limit: 200 } } }))
      .then(setTerritories)
      .catch(fail);
  }, [api, fail]);
  useEffect(reload, [reload]);

  const addPoint = (e: MouseEvent) => {
    const point = mapPoint(e);
    if (!point) return;
    const { lon, lat } = unproject(point.x, point.y);
    setDrawing([...drawing, [Number(lon.toFixed(4)), Number(lat.toFixed(4))]]);
  };
  const area = () => ({ type: "Polygon", coordinates: [[...drawing, drawing[0]!]] });
  const save = () => {
    const saved = editing
      ? must(api.contracts.PATCH("/territories/{territory_id}", { params: { path: { territory_id: editing.id } }, body: { name, area: area() } }))
      : must(api.contracts.POST("/territories", { body: { name, area: area() } }));
    saved
      .then(() => {
        setDrawing([]);
        setName("");
        setEditing(null);
        reload();
      })
      .catch(fail);
  };
  const edit = (territory: Territory) => {
    setEditing(territory);
    setName(territory.name);
    setDrawing(areaRings(territory.area)[0]!.slice(0, -1));
  };

  return (
    <div className="two-panes">
      <section className="map large" aria-label={t("section.territories")}>
        <h2>{t("section.territories")}</h2>
        <p className="hint">{t("drawHelp")}</p>
        <div onClick={addPoint} data-testid="territory-map">
          <CrimeaMap locale={locale} label={t("territoryMap")}>
            {territories
              .filter((x) => x.id !== editing?.id)
              .map((territory, i) =>
                areaRings(territory.area).map((ring, j) => (
                  <polygon key={`${territory.id}-${j}`} points={ringPoints(ring)} fill={TERRITORY_COLOURS[i % TERRITORY_COLOURS.length]} fillOpacity={0.2} stroke={TERRITORY_COLOURS[i % TERRITORY_COLOURS.length]} strokeWidth={2}>
                    <title>{territory.name}</title>
                  </polygon>
                )),
              )}
            {drawing.length > 0 && <polygon points={ringPoints(drawing)} fill="#c62828" fillOpacity={0.15} stroke="#c62828" strokeWidth={2} strokeDasharray="6 4" />}
            {drawing.map(([lon, lat], i) => {
              const p = project(lon!, lat!);
              return <circle key={i} cx={p.x} cy={p.y} r={5} fill="#c62828" />;
            })}
          </CrimeaMap>
        </div>
      </section>
      <section className="detail">
        <ul className="plain">
          {territories.map((territory, i) => (
            <li key={territory.id}>
              <span className="dot" style={{ background: TERRITORY_COLOURS[i % TERRITORY_COLOURS.length] }} /> {territory.name}{" "}
              <button type="button" onClick={() => edit(territory)}>
                {t("edit")}
              </button>
            </li>
          ))}
        </ul>
        <div className="card">
          <h3>{editing ? t("editTerritory", { name: editing.name }) : t("newTerritory")}</h3>
          <label>
            {t("name")} <input value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <p>{t("pointsN", { n: drawing.length })}</p>
          <button type="button" disabled={drawing.length === 0} onClick={() => setDrawing(drawing.slice(0, -1))}>
            {t("undoPoint")}
          </button>{" "}
          <button type="button" disabled={drawing.length < 3 || !name.trim()} onClick={save}>
            {t("save")}
          </button>{" "}
          <button type="button" onClick={() => (setDrawing([]), setEditing(null), setName(""))}>
            {t("cancel")}
          </button>
        </div>
      </section>
    </div>
  );
}
