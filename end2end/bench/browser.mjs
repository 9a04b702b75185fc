// Sections 2 and 3, in Chromium: field feedback with the CPU slowed down, and page start-up. (Part of `make bench`: see bench.mjs.)
import { chromium } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';

import { log, ms, percentile, seconds, table } from './setup.mjs';

// ---------------------------------------------------------------------------------------------
// Browser measurements (sections 2 and 3).

// Installed before any page script: records interaction latencies from the Event Timing API and
// from our own next-frame probe, long tasks, and the moment the page becomes interactive.
export function pageProbe() {
  const b = (window.__bench = { events: [], frames: [], longtasks: [], hidratada: null });
  const observe = (options, sink) => {
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) sink(e);
      }).observe(options);
    } catch {}
  };
  // Event Timing: only events of 16 ms or more are ever reported (the API's minimum threshold),
  // durations rounded to 8 ms.
  observe({ type: 'event', buffered: true, durationThreshold: 16 }, (e) =>
    b.events.push({
      name: e.name,
      startTime: e.startTime,
      duration: e.duration,
      inputDelay: e.processingStart - e.startTime,
      interactionId: e.interactionId,
      target: e.target?.id ?? '',
    }),
  );
  observe({ type: 'longtask', buffered: true }, (e) =>
    b.longtasks.push({ startTime: e.startTime, duration: e.duration }),
  );

  // Our own probe, for every interaction, from the event's timestamp (the keydown's, when a key
  // caused the input) to two points:
  // - handlers: the end of the last listener of the input/change events, one added on `window`
  //   for the bubbling phase, which runs after the page's own (and after the microtasks its
  //   reactive updates queue);
  // - next frame: a task queued from the next animation frame, i.e. just after the frame that
  //   shows the result has been produced. This includes waiting for that frame (up to 16.7 ms at
  //   60 Hz), as Event Timing's duration does.
  let keydownAt = null;
  let current = null; // the interaction whose input/change events are being dispatched
  addEventListener(
    'keydown',
    (e) => {
      keydownAt = e.timeStamp;
      setTimeout(() => (keydownAt = null), 0); // an input caused by this key comes before this
    },
    true,
  );
  // Headless Chromium does not present a frame whose only change is the text inside a text
  // field (no presentation feedback until some other part of the page changes), so Event Timing
  // would report every keystroke as ending at the next unrelated change, seconds later, or not at
  // all. A 1-pixel dot recoloured in the frame after each input gives that frame something to
  // present; painting it costs next to nothing.
  let dot = null;
  const pace = () => {
    if (!dot) {
      dot = document.createElement('div');
      dot.style.cssText =
        'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;z-index:2147483647';
      document.documentElement.append(dot); // outside <body>, which the app hydrates
    }
    dot.style.background =
      dot.style.background === 'rgb(0, 0, 1)' ? 'rgb(0, 0, 2)' : 'rgb(0, 0, 1)';
  };
  // The page's own share is the time spent dispatching each event of the interaction: from the
  // probe's capturing listener on `window` (registered before any of the page's, so first) to a
  // bubbling one added at that moment (so last), with the microtasks the page's listeners queue.
  // Summed over the `input` and `change` of a select: between the two events the browser does
  // work of its own (2-10 ms at 4× throttling on the control page, no listener running), which
  // is neither the page's handlers nor the reactive work they cause.
  const dispatched = (from) => () => {
    if (!current) return;
    const now = performance.now();
    current.handlers = now - current.start;
    current.own = (Number.isFinite(current.own) ? current.own : 0) + (now - from);
  };
  addEventListener(
    'input',
    (e) => {
      const start = keydownAt ?? e.timeStamp;
      keydownAt = null;
      const record = {
        start,
        target: e.target?.id ?? '',
        handlers: NaN,
        own: NaN,
        latency: NaN,
      };
      current = record;
      requestAnimationFrame(() => {
        pace();
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          record.latency = performance.now() - start;
          b.frames.push(record);
          if (current === record) current = null;
        };
        channel.port2.postMessage(0);
      });
    },
    true,
  );
  // A select's `change` follows its `input` in the same task, so it extends the same record.
  for (const type of ['input', 'change']) {
    addEventListener(
      type,
      () => addEventListener(type, dispatched(performance.now()), { once: true }),
      true,
    );
  }

  // Hydration ends when the page flips `data-interactiva` to "si".
  const check = () => {
    if (b.hidratada === null && document.querySelector('main[data-interactiva="si"]')) {
      b.hidratada = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-interactiva'],
  });
}

export async function waitHydrated(page) {
  await page.waitForFunction(() => window.__bench?.hidratada != null, null, { timeout: 30_000 });
}

/** Resolves after the next frame has been produced. */
export const nextFrame = (page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));

/** Event Timing entries of one phase, grouped into interactions (worst entry of each). */
export function interactions(events, from, to) {
  const byId = new Map();
  for (const e of events) {
    if (e.interactionId > 0 && e.startTime >= from && e.startTime < to) {
      const prev = byId.get(e.interactionId);
      if (!prev || e.duration > prev.duration) byId.set(e.interactionId, e);
    }
  }
  return [...byId.values()];
}

/**
 * The floor the field measurements are compared with: the same two fields with no WASM and no
 * framework, a few lines of plain JavaScript doing what the page does on each event (a cédula's
 * check digit on every keystroke; on a classification change, two fields locked or unlocked, one
 * cleared, hints and asterisks changed). Whatever this page takes is the throttled browser's own
 * event, layout and frame work; the page's own cost is what it takes beyond it.
 */
export const CONTROL_PAGE = `<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Piso</title></head>
<body><main data-interactiva="si"><form>
<label for="b-clasificacion">Clasificación de usuario *</label>
<select id="b-clasificacion">${Array.from({ length: 10 }, (_, i) => `<option value="c${i}">Clasificación ${i}</option>`).join('')}</select>
<label for="b-ruc">RUC empresa <span id="ruc-ast">*</span></label>
<input id="b-ruc" aria-describedby="ruc-ayuda"><p id="ruc-ayuda">13 dígitos</p>
<label for="b-correo">Correo electrónico <span id="correo-ast"></span></label>
<input id="b-correo" disabled aria-describedby="correo-ayuda"><p id="correo-ayuda">Bloqueado</p>
<label for="b-identificacion">Identificación *</label>
<input id="b-identificacion" aria-describedby="id-error"><p id="id-error"></p>
</form></main>
<script>
const $ = (id) => document.getElementById(id);
$('b-identificacion').addEventListener('input', (e) => {
  const v = e.target.value, d = [...v].map(Number);
  const sum = d.slice(0, 9).reduce((s, x, i) => s + (i % 2 ? x : (x * 2 > 9 ? x * 2 - 9 : x * 2)), 0);
  const ok = /^[0-9]{10}$/.test(v) && (10 - (sum % 10)) % 10 === d[9];
  $('id-error').textContent = ok ? '' : 'Cédula inválida';
  e.target.setAttribute('aria-invalid', ok ? 'false' : 'true');
});
$('b-clasificacion').addEventListener('change', (e) => {
  const empresa = e.target.selectedIndex % 2 === 0;
  for (const [id, on] of [['b-ruc', empresa], ['b-correo', !empresa]]) {
    $(id).disabled = !on; $(id).required = on; if (!on) $(id).value = '';
  }
  $('ruc-ast').textContent = empresa ? '*' : '';
  $('correo-ast').textContent = empresa ? '' : '*';
  $('ruc-ayuda').textContent = empresa ? '13 dígitos' : 'Bloqueado';
  $('correo-ayuda').textContent = empresa ? 'Bloqueado' : 'El registrado';
});
</script></body></html>`;

/** Types 50 characters and makes 20 classification changes at 4× throttling; returns what the probe recorded and when each phase ran. */
async function interact(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const now = () => page.evaluate(() => performance.now());

  // 50 characters typed one at a time into the identification field.
  await page.click('#b-identificacion');
  await nextFrame(page);
  const typingFrom = await now();
  const text = '1710034065'.repeat(5);
  for (const ch of text) {
    await page.keyboard.press(ch);
    await sleep(30);
  }
  await nextFrame(page);
  const typingTo = await now();

  // 20 changes of the classification. With the keyboard (arrow keys on the focused, closed
  // select), which makes real, trusted events; Event Timing ignores the synthetic ones that
  // selectOption dispatches. If the keys do not change the value, selectOption it is.
  const selectFrom = await now();
  await page.focus('#b-clasificacion');
  const values = await page.$$eval('#b-clasificacion option', (os) => os.map((o) => o.value));
  let selectMethod = 'con las flechas del teclado';
  for (let i = 0; i < 20; i++) {
    const before = await page.inputValue('#b-clasificacion');
    const down = i < values.length - 1; // down to the last option, then back up
    if (selectMethod.startsWith('con las flechas')) {
      await page.keyboard.press(down ? 'ArrowDown' : 'ArrowUp');
      if ((await page.inputValue('#b-clasificacion')) === before) {
        selectMethod = 'con selectOption: eventos sintéticos, que Event Timing no ve';
      }
    }
    if (!selectMethod.startsWith('con las flechas')) {
      const idx = values.indexOf(before);
      await page.selectOption('#b-clasificacion', values[(idx + 1) % values.length]);
    }
    await sleep(30);
  }
  await nextFrame(page);
  await sleep(300); // let the last frames and the observers' callbacks come in
  const selectTo = await now();

  const b = await page.evaluate(() => window.__bench);
  return { b, typingFrom, typingTo, selectFrom, selectTo, selectMethod, text };
}

export async function fieldSection(browser, server) {
  log('2. respuesta de los campos (CPU 4× más lenta)');
  const context = await browser.newContext({ locale: 'es-EC' });
  try {
    await context.addInitScript(pageProbe);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    const run = await interact(context, page);
    const { b, typingFrom, typingTo, selectFrom, selectTo, selectMethod, text } = run;
    // The floor, in the same browser and run: the control page, fetched from a route of its own.
    await context.route('http://piso.invalid/', (route) =>
      route.fulfill({ body: CONTROL_PAGE, contentType: 'text/html; charset=utf-8' }),
    );
    const control = await context.newPage();
    await control.goto('http://piso.invalid/');
    await waitHydrated(control);
    const floor = await interact(context, control);
    await control.close();
    if (process.env.BENCH_RAW) {
      const raw = (r) => ({ ...r.b, typingFrom: r.typingFrom, typingTo: r.typingTo, selectFrom: r.selectFrom, selectTo: r.selectTo });
      writeFileSync(process.env.BENCH_RAW, JSON.stringify({ app: raw(run), floor: raw(floor) }, null, 1));
    }
    const phases = [
      { label: 'Escribir en `#b-identificacion`', n: text.length, key: 'typing', over: 3 },
      { label: 'Cambiar `#b-clasificacion`', n: 20, key: 'select', over: 5 },
    ];
    /** One phase's next-frame latencies and handler times, on the app's page or the control's. */
    const measured = (r, key) => {
      const [from, to] = [r[`${key}From`], r[`${key}To`]];
      const records = r.b.frames.filter((f) => f.start >= from && f.start < to);
      return {
        frames: records.map((f) => f.latency),
        handlers: records.map((f) => f.handlers).filter(Number.isFinite),
        own: records.map((f) => f.own).filter(Number.isFinite),
      };
    };
    const yes = (ok) => (ok ? 'sí' : '**no**');
    const target = (v) => (Number.isFinite(v) ? yes(v <= 16) : '—');
    const ownRows = [];
    const floorRows = [];
    const etRows = [];
    for (const ph of phases) {
      ph.from = run[`${ph.key}From`];
      ph.to = run[`${ph.key}To`];
      const { frames, handlers, own } = measured(run, ph.key);
      const base = measured(floor, ph.key);
      const p95 = percentile(frames, 95);
      const floorP95 = percentile(base.frames, 95);
      const ownP95 = percentile(own, 95);
      ownRows.push([
        ph.label,
        `${frames.length} de ${ph.n}`,
        ms(percentile(handlers, 50)),
        ms(percentile(handlers, 95)),
        ms(percentile(frames, 50)),
        ms(p95),
        ms(Math.max(...frames)),
      ]);
      floorRows.push([
        ph.label,
        ms(percentile(base.own, 95)),
        ms(floorP95),
        ms(p95),
        `${p95 - floorP95 >= 0 ? '+' : ''}${ms(p95 - floorP95)}`,
        `≤ +${ph.over} ms: ${yes(p95 - floorP95 <= ph.over)}`,
        `${ms(ownP95)} (≤ 4 ms: ${yes(ownP95 <= 4)})`,
      ]);

      const reported = interactions(b.events, ph.from, ph.to);
      const durations = reported.map((e) => e.duration);
      // The interactions the API did not report were under 16 ms: -1 stands for "< 16".
      const all = [...durations, ...Array(Math.max(0, ph.n - durations.length)).fill(-1)];
      const et = (p) => {
        const v = percentile(all, p);
        return v < 0 ? '< 16 ms' : ms(v);
      };
      const etP95 = percentile(all, 95);
      const delays = b.events
        .filter((e) => e.startTime >= ph.from && e.startTime < ph.to)
        .map((e) => e.inputDelay);
      etRows.push([
        ph.label,
        String(ph.n),
        `${durations.length} de ${ph.n}`,
        et(50),
        et(95),
        durations.length ? ms(Math.max(...durations)) : '< 16 ms',
        delays.length ? ms(Math.max(...delays)) : '—',
        etP95 < 0 ? 'sí' : target(etP95),
      ]);
    }
    const longDuring = b.longtasks.filter((t) => t.startTime >= typingFrom).map((t) => t.duration);
    const longLoad = b.longtasks.filter((t) => t.startTime < typingFrom).map((t) => t.duration);
    const longText = (list) =>
      list.length
        ? `${ms(Math.max(...list))} (${list.length} ${list.length === 1 ? 'tarea' : 'tareas'} ` +
          '≥ 50 ms)'
        : 'ninguna ≥ 50 ms';

    return [
      '### 2. Respuesta de los campos',
      '',
      'Chromium con la CPU 4× más lenta (`Emulation.setCPUThrottlingRate`), después de la ' +
        'hidratación: 50 caracteres tecleados uno a uno (30 ms entre teclas) y 20 cambios de ' +
        `clasificación ${selectMethod}. La validación corre en WASM en cada evento, sin red.`,
      '',
      'Medido en la página para cada interacción, desde el `timeStamp` del evento (el del ' +
        '`keydown` si lo causó una tecla): **manejadores** hasta que terminó el último manejador ' +
        'de `input`/`change` (con las actualizaciones reactivas que encolan); ' +
        '**siguiente cuadro** ' +
        'hasta una tarea encolada desde el `requestAnimationFrame` siguiente, o sea ya producido ' +
        'el cuadro que muestra el resultado. Esta última incluye esperar ese cuadro (hasta ' +
        '16,7 ms a 60 Hz), como la duración de Event Timing.',
      '',
      table(
        [
          'Interacción',
          'Medidas',
          'Manejadores p50',
          'Manejadores p95',
          'Siguiente cuadro p50',
          'p95',
          'máx.',
        ],
        ownRows,
      ),
      '',
      'El piso, en la misma ejecución y el mismo navegador: las mismas teclas y cambios en una ' +
        'página de control sin WASM ni framework (`CONTROL_PAGE` en `end2end/bench/browser.mjs`), ' +
        'con unas líneas de JavaScript que hacen lo mismo en cada evento (el dígito verificador ' +
        'de la cédula; al cambiar la clasificación, bloquear o desbloquear dos campos, vaciar uno, ' +
        'cambiar ayudas y asteriscos). Lo que tarda esa página es trabajo propio del navegador ' +
        'ralentizado; lo que la nuestra tarda de más es nuestro. **Manejadores propios**: el tiempo ' +
        'de despachar cada evento de la interacción (`input`, y `change` en la lista), desde que ' +
        'empieza el primer manejador (el de la sonda, en captura sobre `window`, antes que los de ' +
        'la página) hasta que termina el último, con el trabajo reactivo que encolan; sumado por ' +
        'interacción. Entre el `input` y el `change` de una lista el navegador hace trabajo suyo, ' +
        'sin ningún manejador en curso, que no se cuenta.',
      '',
      table(
        [
          'Interacción',
          'Piso: manejadores propios p95',
          'Piso: siguiente cuadro p95',
          'Página: siguiente cuadro p95',
          'Sobre el piso',
          'Objetivo',
          'Página: manejadores propios p95',
        ],
        floorRows,
      ),
      '',
      'Event Timing (`PerformanceObserver`, `durationThreshold: 16`): el navegador solo informa ' +
        'eventos de 16 ms o más (el umbral mínimo de la API; duraciones redondeadas a 8 ms). Por ' +
        'interacción cuenta su evento más lento; los percentiles son sobre las N interacciones ' +
        'hechas, con las no informadas como “< 16 ms”. Chromium sin cabeza no presenta un cuadro ' +
        'cuyo único cambio es el texto de un campo, así que la sonda recolorea un punto de 1 px ' +
        'en ' +
        'el cuadro siguiente a cada entrada; sin eso, Event Timing fecharía cada tecla en el ' +
        'siguiente cambio ajeno de la página, segundos después.',
      '',
      table(
        [
          'Interacción',
          'N',
          'Informadas (≥ 16 ms)',
          'p50',
          'p95',
          'máx.',
          'Retraso de entrada máx.',
          'Objetivo p95 ≤ 16 ms',
        ],
        etRows,
      ),
      '',
      table(
        ['Tareas largas (`longtask`)', 'Más larga'],
        [
          ['Durante las interacciones (CPU 4×)', longText(longDuring)],
          ['Durante la carga y la hidratación (CPU normal)', longText(longLoad)],
        ],
      ),
    ].join('\n');
  } finally {
    await context.close();
  }
}

export async function loadOnce(page, navigate) {
  await navigate();
  await waitHydrated(page);
  await nextFrame(page);
  return page.evaluate(() => {
    const paint = Object.fromEntries(
      performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]),
    );
    return {
      hydrated: window.__bench.hidratada,
      fp: paint['first-paint'] ?? NaN,
      fcp: paint['first-contentful-paint'] ?? NaN,
    };
  });
}

export async function startupSection(browser, server) {
  log('3. arranque: 20 cargas en frío y 20 en caliente');
  const url = `${server.url}/`;
  const runs = 20;
  const cold = [];
  for (let i = 0; i < runs; i++) {
    // A new context has an empty HTTP cache and no compiled-code cache.
    const context = await browser.newContext({ locale: 'es-EC' });
    try {
      await context.addInitScript(pageProbe);
      const page = await context.newPage();
      cold.push(await loadOnce(page, () => page.goto(url)));
    } finally {
      await context.close();
    }
  }
  const warm = [];
  const context = await browser.newContext({ locale: 'es-EC' });
  try {
    await context.addInitScript(pageProbe);
    const page = await context.newPage();
    await loadOnce(page, () => page.goto(url)); // fills the cache
    for (let i = 0; i < runs; i++) warm.push(await loadOnce(page, () => page.reload()));
  } finally {
    await context.close();
  }
  const row = (label, list) => {
    const pick = (k) => list.map((r) => r[k]).filter(Number.isFinite);
    return [
      label,
      String(list.length),
      ms(percentile(pick('fp'), 50)),
      ms(percentile(pick('fcp'), 50)),
      ms(percentile(pick('fcp'), 95)),
      ms(percentile(pick('hydrated'), 50)),
      ms(percentile(pick('hydrated'), 95)),
    ];
  };
  return [
    '### 3. Arranque de la página',
    '',
    'Carga de `/` desde localhost, sin limitar CPU ni red. En frío: un contexto nuevo por carga ' +
      '(caché vacía); en caliente: recargas en el mismo contexto tras una primera carga. ' +
      'Tiempos desde el inicio de la navegación; “interactiva” es cuando aparece ' +
      '`main[data-interactiva="si"]` (hidratación terminada).',
    '',
    table(
      ['Carga', 'N', 'first-paint p50', 'FCP p50', 'FCP p95', 'Interactiva p50', 'Interactiva p95'],
      [row('En frío', cold), row('En caliente', warm)],
    ),
  ].join('\n');
}
