// What the app needs from the browser beyond web-sys: Plotly (served from /assets, loaded on
// first use), file downloads, and remembered preferences.

let plotly;

function loadPlotly() {
  plotly ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/assets/plotly.min.js";
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("/assets/plotly.min.js cannot be loaded"));
    document.head.append(script);
  });
  return plotly;
}

const config = {
  responsive: true,
  displaylogo: false,
  topojsonURL: "/assets/topojson/",
  modeBarButtonsToRemove: ["toImage"],
  // Plotly 4 offers to upload the figure to its cloud by default; nothing leaves the machine.
  showSendToCloud: false,
  plotlyServerURL: "",
};

// Draws `figure` (Plotly JSON text) in `div`. `onSelect` gets the `customdata` (table rows)
// of the points a box or lasso selected, or null when the selection is cleared.
export async function draw(div, figure, onSelect) {
  const Plotly = await loadPlotly();
  const { data, layout } = JSON.parse(figure);
  await Plotly.react(div, data, layout, config);
  div.kmvizOnSelect = onSelect;
  if (!div.kmvizListening) {
    div.kmvizListening = true;
    div.on("plotly_selected", (event) => {
      if (!event) return;
      const rows = event.points.map((p) => p.customdata).filter((r) => Number.isInteger(r));
      div.kmvizOnSelect?.(Uint32Array.from(rows));
    });
    div.on("plotly_deselect", () => div.kmvizOnSelect?.(null));
  }
}

// Empties `div`; Plotly drops its listeners with it.
export function purge(div) {
  window.Plotly?.purge(div);
  div.kmvizListening = false;
}

export async function downloadImage(div, format, filename) {
  const Plotly = await loadPlotly();
  await Plotly.downloadImage(div, { format, filename, width: div.clientWidth, height: div.clientHeight });
}

export function save(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function remember(key, value) {
  try { localStorage.setItem(key, value); } catch { /* private windows may refuse */ }
}

export function recall(key) {
  try { return localStorage.getItem(key) ?? undefined; } catch { return undefined; }
}
