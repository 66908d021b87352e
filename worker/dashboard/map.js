// The pruning map: a request's image (the 96 x 96 letterboxed thumbnail the store keeps) once per LLM
// layer, with the visual tokens that entered that layer clear and outlined and the ones pruning dropped
// dimmed. Reads GET /v1/metrics/requests/:id (kept grid indices per layer, row-major over grid x grid).

/** Drawn side of each layer's image, CSS pixels. */
const SIDE = 150;

/** RGB bytes of the thumbnail as an offscreen canvas. */
function thumbCanvas(thumb) {
  const c = document.createElement("canvas");
  c.width = c.height = thumb.size;
  const bin = atob(thumb.rgb_base64);
  const img = c.getContext("2d").createImageData(thumb.size, thumb.size);
  for (let i = 0, j = 0; i < bin.length; i += 3, j += 4) {
    img.data[j] = bin.charCodeAt(i);
    img.data[j + 1] = bin.charCodeAt(i + 1);
    img.data[j + 2] = bin.charCodeAt(i + 2);
    img.data[j + 3] = 255;
  }
  c.getContext("2d").putImageData(img, 0, 0);
  return c;
}

/** One layer's panel: the image, dropped cells dimmed, kept cells outlined. */
function layerPanel(source, grid, kept, color) {
  const dpr = window.devicePixelRatio || 1;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = Math.round(SIDE * dpr);
  canvas.style.width = canvas.style.height = `${SIDE}px`;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.imageSmoothingEnabled = false;
  if (source) g.drawImage(source, 0, 0, SIDE, SIDE);
  else {
    g.fillStyle = "#2e3440";
    g.fillRect(0, 0, SIDE, SIDE);
  }
  const cell = SIDE / grid;
  const keep = new Set(kept);
  g.fillStyle = "rgba(10, 12, 16, 0.78)";
  for (let i = 0; i < grid * grid; i++) {
    if (!keep.has(i)) g.fillRect((i % grid) * cell, Math.floor(i / grid) * cell, cell, cell);
  }
  g.strokeStyle = color;
  g.lineWidth = 1;
  for (const i of keep)
    g.strokeRect((i % grid) * cell + 0.5, Math.floor(i / grid) * cell + 0.5, cell - 1, cell - 1);
  return canvas;
}

/** Draws `detail` into `el`; returns what was drawn (kept indices per layer) for the page's state. */
export function drawMap(el, detail, color) {
  el.replaceChildren();
  const source = detail.thumb ? thumbCanvas(detail.thumb) : null;
  const grid = detail.grid;
  const kept = detail.kept_per_layer;
  kept.forEach((indices, l) => {
    const fig = document.createElement("figure");
    fig.append(layerPanel(source, grid, indices, color));
    const cap = document.createElement("figcaption");
    cap.textContent = `layer ${l} · ${indices.length}/${grid * grid}`;
    fig.append(cap);
    el.append(fig);
  });
  return {
    id: detail.id,
    method: detail.method,
    grid,
    kept,
    layers: kept.map((k) => k.length),
    thumb: Boolean(detail.thumb),
  };
}
