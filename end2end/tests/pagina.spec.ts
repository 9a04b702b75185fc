import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import {
  CLASIFICACIONES,
  PREGUNTA,
  abrirInteractiva,
  claveTemporal,
  contarLlamadas,
  correosRecibidos,
  esperarCorreo,
} from './ayuda';

const busqueda = (page: Page) => page.locator('section[aria-labelledby="titulo-busqueda"]');
const reinicio = (page: Page) => page.locator('section[aria-labelledby="titulo-reinicio"]');

test.describe('with JavaScript', () => {
  test('every classification locks and requires the fields of the table', async ({ page }) => {
    await abrirInteractiva(page);
    const ruc = page.locator('#b-ruc_empresa');
    const correo = page.locator('#b-correo');
    // Before a classification is chosen, both wait for it.
    await expect(ruc).toBeDisabled();
    await expect(correo).toBeDisabled();

    for (const c of CLASIFICACIONES) {
      await page.selectOption('#b-clasificacion', c.codigo);
      for (const [campo, requerido] of [
        [ruc, c.ruc],
        [correo, c.correo],
      ] as const) {
        if (requerido) {
          await expect(campo, `${c.etiqueta}`).toBeEnabled();
          await expect(campo).toHaveAttribute('aria-required', 'true');
          await expect(page.locator(`label[for="${await campo.getAttribute('id')}"] .asterisco`)).toBeVisible();
        } else {
          await expect(campo, `${c.etiqueta}`).toBeDisabled();
          await expect(campo).toHaveAttribute('aria-disabled', 'true');
          // Hidden, not removed: a classification change toggles the attribute.
          await expect(page.locator(`label[for="${await campo.getAttribute('id')}"] .asterisco`)).toBeHidden();
          await expect(page.locator(`label[for="${await campo.getAttribute('id')}"] .solo-lectores`)).toBeHidden();
        }
      }
    }
  });

  test('switching classification empties a field that becomes locked', async ({ page }) => {
    await abrirInteractiva(page);
    await page.selectOption('#b-clasificacion', 'empleado');
    await page.fill('#b-ruc_empresa', '1793213150001');
    await page.selectOption('#b-clasificacion', 'auditor');
    await expect(page.locator('#b-ruc_empresa')).toBeDisabled();
    await expect(page.locator('#b-ruc_empresa')).toHaveValue('');
    await page.fill('#b-correo', 'ana@example.com');
    await page.selectOption('#b-clasificacion', 'race');
    await expect(page.locator('#b-correo')).toHaveValue('');
    await expect(page.locator('#b-ruc_empresa')).toHaveValue('');
  });

  test('a hint or an error that stays keeps its paragraph; only a changed text changes', async ({ page }) => {
    await abrirInteractiva(page);
    await page.selectOption('#b-clasificacion', 'representante_legal');
    // Records every change to these paragraphs from now on (each must be in the page).
    const cambios = async (ids: string[]) => {
      const observados = await page.evaluate((ids) => {
        const registro: string[] = [];
        const observador = new MutationObserver((lista) => {
          for (const m of lista) registro.push(`${(m.target as Element).id || m.target.nodeName}: ${m.type} ${m.attributeName ?? ''}`);
        });
        const presentes = ids.map((id) => document.getElementById(id)).filter((p) => p !== null);
        for (const p of presentes) observador.observe(p, { attributes: true, childList: true, characterData: true, subtree: true });
        (window as unknown as { registro: string[] }).registro = registro;
        return presentes.length;
      }, ids);
      expect(observados).toBe(ids.length);
    };
    const registro = () => page.evaluate(() => (window as unknown as { registro: string[] }).registro);
    await cambios(['b-ruc_empresa-pista', 'b-correo-pista']);
    // Another classification with the same requirements: both hints stay as they were.
    await page.selectOption('#b-clasificacion', 'empleado');
    await expect(page.locator('#b-ruc_empresa')).toBeEnabled();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
    expect(await registro()).toEqual([]);
    // One that swaps them: the hints' text changes, and nothing else of their paragraphs.
    await page.selectOption('#b-clasificacion', 'usuario_general');
    await expect(page.locator('#b-correo-pista')).toContainText('El correo personal');
    await expect(page.locator('#b-ruc_empresa-pista')).toHaveText('No corresponde a la clasificación elegida.');
    expect(await registro()).not.toEqual([]);
    expect((await registro()).every((r) => !r.includes('attributes'))).toBe(true);

    // An error whose message changes keeps its paragraph, a live region, and its attributes.
    const campo = page.locator('#b-identificacion');
    await campo.fill('12');
    await campo.blur();
    await expect(page.locator('#b-identificacion-error')).toContainText('pasaporte');
    await cambios(['b-identificacion-error']);
    await campo.fill('1770034065');
    await expect(page.locator('#b-identificacion-error')).toContainText('tercer dígito');
    expect(await registro()).not.toEqual([]);
    expect((await registro()).every((r) => !r.includes('attributes'))).toBe(true);
  });

  test('an invalid cédula shows its error at once, without asking the server', async ({ page }) => {
    await abrirInteractiva(page);
    const llamadas = contarLlamadas(page);
    const campo = page.locator('#b-identificacion');
    await campo.fill('1710034066');
    // Not while typing the first time: only once the field is left.
    await expect(page.locator('#b-identificacion-error')).toHaveCount(0);
    await campo.blur();
    await expect(page.locator('#b-identificacion-error')).toContainText('El número de cédula no es válido');
    await expect(campo).toHaveAttribute('aria-invalid', 'true');
    await expect(campo).toHaveAttribute('aria-describedby', /b-identificacion-error/);
    // Then every keystroke: fixing it clears the error.
    await campo.fill('171003406');
    await expect(page.locator('#b-identificacion-error')).toHaveCount(0); // 9 digits read as a passport: valid
    await campo.fill('17100340655');
    await expect(page.locator('#b-identificacion-error')).toHaveCount(0);
    await campo.fill('1770034065');
    await expect(page.locator('#b-identificacion-error')).toContainText('tercer dígito');
    await campo.fill('1710034065');
    await expect(page.locator('#b-identificacion-error')).toHaveCount(0);
    await expect(campo).not.toHaveAttribute('aria-invalid', 'true');
    expect(llamadas).toEqual([]);
  });

  test('a submit with errors sends nothing and focuses a summary that links to each field', async ({ page }) => {
    await abrirInteractiva(page);
    const llamadas = contarLlamadas(page);
    await page.selectOption('#b-clasificacion', 'empleado');
    await page.fill('#b-identificacion', '12');
    // Before the first submit a field's error shows at the field only: the summary is hidden
    // and holds no entry.
    await page.locator('#b-identificacion').blur();
    await expect(page.locator('#b-identificacion-error')).toContainText('pasaporte');
    const resumen = busqueda(page).locator('.resumen-errores');
    await expect(resumen).toBeHidden();
    await expect(resumen.locator('li')).toHaveCount(0);
    await busqueda(page).getByRole('button', { name: 'Buscar ID' }).click();
    await expect(resumen).toBeVisible();
    await expect(resumen).toBeFocused();
    await expect(resumen.getByRole('link')).toHaveText([
      'RUC empresa: Este campo es obligatorio.',
      'Identificación: El pasaporte debe tener entre 5 y 20 caracteres.',
    ]);
    await resumen.getByRole('link', { name: /RUC empresa/ }).click();
    await expect(page.locator('#b-ruc_empresa')).toBeFocused();
    expect(llamadas).toEqual([]);
  });

  test('the whole journey: Buscar ID, confirmation, and the e-mail at a real SMTP server', async ({ page }) => {
    await abrirInteractiva(page);
    await page.selectOption('#b-clasificacion', 'representante_legal');
    await page.fill('#b-ruc_empresa', '0993370026001');
    await page.fill('#b-identificacion', '0926687856');
    await busqueda(page).getByRole('button', { name: 'Buscar ID' }).click();
    await expect(page.getByTestId('id-usuario')).toHaveText('jsalazar.rl');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await busqueda(page).getByRole('button', { name: 'Copiar' }).click();
    await expect(busqueda(page).getByRole('button', { name: 'Copiado' })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('jsalazar.rl');
    // Section 2 is prefilled.
    await expect(page.locator('#r-usuario')).toHaveValue('jsalazar.rl');
    await expect(page.locator('#r-identificacion')).toHaveValue('0926687856');
    // Representante legal gives a RUC, not an e-mail: nothing to carry.
    await expect(page.locator('#r-correo')).toHaveValue('');

    await page.fill('#r-correo', 'jorge.salazar@example.com');
    const antes = correosRecibidos();
    const llamadas = contarLlamadas(page);
    const boton = reinicio(page).getByRole('button', { name: 'Recibir la clave por e-mail' });
    await boton.click();
    const dialogo = page.getByRole('dialog');
    await expect(dialogo).toBeVisible();
    await expect(dialogo).toContainText(PREGUNTA);
    await dialogo.getByRole('button', { name: 'No' }).click();
    await expect(dialogo).toBeHidden();
    // Esc is "No" too.
    await boton.click();
    await expect(dialogo).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(dialogo).toBeHidden();
    expect(llamadas).toEqual([]);

    await boton.click();
    await dialogo.getByRole('button', { name: 'Sí' }).click();
    await expect(page.getByTestId('enviado')).toContainText('j***@example.com');
    await expect(page.getByTestId('enviado')).toContainText('60 minutos');
    // The validity counts from the sending, which the page cannot know: it says so, and the
    // e-mail gives the exact time.
    await expect(page.getByTestId('enviado')).toContainText('válida por 60 minutos desde que la enviamos');
    await expect(page.getByTestId('enviado')).not.toContainText('Vence el');
    expect(llamadas.length).toBe(1);

    const correo = await esperarCorreo('jorge.salazar@example.com', antes);
    expect(correo.subject).toBe('ECUAPASS: su clave temporal');
    expect(correo.text).toContain('jsalazar.rl');
    // 20 symbols without look-alikes (about 115 bits), shown in four groups of five.
    expect(claveTemporal(correo)).toMatch(/^[A-HJ-NP-Za-km-z2-9]{5}(-[A-HJ-NP-Za-km-z2-9]{5}){3}$/);
    expect(correo.html).toContain(claveTemporal(correo));
  });

  // The browser reads the answers with its own JSON parser (app::lectura). The server's answers
  // of these kinds are hard to provoke from a valid form, so they are played back here.
  test.describe('answers the page reads', () => {
    const responder = async (page: Page, status: number, body: string) => {
      await page.route('**/api/buscar_id', (route) =>
        route.fulfill({ status, contentType: 'application/json', body }),
      );
      await abrirInteractiva(page);
      await page.selectOption('#b-clasificacion', 'representante_legal');
      await page.fill('#b-ruc_empresa', '0993370026001');
      await page.fill('#b-identificacion', '0926687856');
      await busqueda(page).getByRole('button', { name: 'Buscar ID' }).click();
    };

    test('field errors from the server show at their field', async ({ page }) => {
      await responder(
        page,
        422,
        JSON.stringify({
          error: 'campos',
          campos: [{ field: 'identificacion', code: 'cedula.check_digit', message: 'x' }],
        }),
      );
      // The message is the crate's, looked up by code: not the one in the answer.
      await expect(page.locator('#b-identificacion-error')).toContainText(
        'El número de cédula no es válido',
      );
      await expect(page.locator('#b-identificacion')).toHaveAttribute('aria-invalid', 'true');
    });

    test('a limit says in how many minutes to try again', async ({ page }) => {
      await responder(page, 429, '{"segundos": 61, "error": "limite"}');
      await expect(busqueda(page).getByRole('alert')).toContainText('intente de nuevo en 2 minuto(s)');
    });

    test('an unreadable answer asks to reload the page', async ({ page }) => {
      await responder(page, 200, '<html>proxy</html>');
      await expect(busqueda(page).getByRole('alert')).toContainText('Recargue la página');
    });

    test('a found ID with extra fields still reads', async ({ page }) => {
      await responder(page, 200, '{"nuevo": [1.5, null], "usuario": "otro.id"}');
      await expect(page.getByTestId('id-usuario')).toHaveText('otro.id');
    });
  });

  test('for an Auditor the e-mail of section 1 is carried into section 2, editable', async ({ page }) => {
    await abrirInteractiva(page);
    await page.selectOption('#b-clasificacion', 'auditor');
    await page.fill('#b-correo', 'ana.auditora@example.com');
    await page.fill('#b-identificacion', 'AB123456');
    await busqueda(page).getByRole('button', { name: 'Buscar ID' }).click();
    await expect(page.getByTestId('id-usuario')).toHaveText('aauditor');
    await expect(page.locator('#r-usuario')).toHaveValue('aauditor');
    await expect(page.locator('#r-identificacion')).toHaveValue('AB123456');
    await expect(page.locator('#r-correo')).toHaveValue('ana.auditora@example.com');
    await page.fill('#r-correo', 'otra@example.com');
    await expect(page.locator('#r-correo')).toHaveValue('otra@example.com');
  });

  test('a miss shows the uniform message', async ({ page }) => {
    await abrirInteractiva(page);
    await page.selectOption('#b-clasificacion', 'perito');
    await page.fill('#b-correo', 'pedro.pendiente@example.com');
    await page.fill('#b-identificacion', '0102030400');
    await busqueda(page).getByRole('button', { name: 'Buscar ID' }).click();
    await expect(busqueda(page).getByRole('alert')).toContainText(
      'Los datos ingresados no coinciden con un registro aprobado.',
    );
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the page explains which field applies to which classification', async ({ page }) => {
    await page.goto('/');
    await expect(page.locator('#b-ruc_empresa')).toBeEnabled();
    await expect(page.locator('#b-ruc_empresa-pista')).toContainText('Solo para: Representante legal, Empleado');
    await expect(page.locator('#b-correo-pista')).toContainText('Solo para: Usuario general, Auditor, Perito');
  });

  test('the same journey through server-rendered pages', async ({ page }) => {
    await page.goto('/');
    await page.selectOption('#b-clasificacion', 'usuario_general');
    await page.fill('#b-correo', 'Maria.Perez@example.com');
    await page.fill('#b-identificacion', '171003406-5');
    await page.getByRole('button', { name: 'Buscar ID' }).click();
    await expect(page.getByTestId('id-usuario')).toHaveText('MPerez');
    await expect(page.locator('#r-usuario')).toHaveValue('MPerez');
    await expect(page.locator('#b-correo')).toHaveValue('Maria.Perez@example.com');
    // Usuario general's e-mail is carried into section 2, editable.
    await expect(page.locator('#r-correo')).toHaveValue('Maria.Perez@example.com');
    await expect(page.locator('#r-correo')).toBeEditable();

    await page.fill('#r-correo', 'maria.perez@example.com');
    const antes = correosRecibidos();
    await page.getByRole('button', { name: 'Recibir la clave por e-mail' }).click();
    await expect(page.locator('.confirmacion')).toContainText(PREGUNTA);
    // "No": back to the form, every value kept, nothing sent.
    await page.locator('.confirmacion').getByRole('button', { name: 'No' }).click();
    await expect(page.locator('.confirmacion')).toHaveCount(0);
    await expect(page.locator('#r-usuario')).toHaveValue('MPerez');
    await expect(page.locator('#r-identificacion')).toHaveValue('171003406-5');
    await expect(page.locator('#r-correo')).toHaveValue('maria.perez@example.com');
    expect(correosRecibidos()).toEqual(antes);
    await page.getByRole('button', { name: 'Recibir la clave por e-mail' }).click();
    await expect(page.locator('.confirmacion')).toContainText(PREGUNTA);
    expect(correosRecibidos()).toEqual(antes);
    await page.locator('.confirmacion').getByRole('button', { name: 'Sí' }).click();
    await expect(page.getByTestId('enviado')).toContainText('m***@example.com');
    const correo = await esperarCorreo('maria.perez@example.com', antes);
    expect(correo.text).toContain('MPerez');
    expect(claveTemporal(correo)).toHaveLength(23);
  });

  test('errors come back in place, with a value in a locked field refused', async ({ page }) => {
    await page.goto('/');
    await page.selectOption('#b-clasificacion', 'auditor');
    await page.fill('#b-ruc_empresa', '0993370026001');
    await page.fill('#b-identificacion', '1710034066');
    await page.getByRole('button', { name: 'Buscar ID' }).click();
    await expect(page.locator('#b-ruc_empresa-error')).toContainText('no corresponde a la clasificación');
    await expect(page.locator('#b-correo-error')).toContainText('obligatorio');
    await expect(page.locator('#b-identificacion-error')).toContainText('no es válido');
    await expect(page.locator('#b-identificacion')).toHaveValue('1710034066');
    await expect(busqueda(page).locator('.resumen-errores')).toBeVisible();
  });
});

test.describe('accessibility and screenshots', () => {
  for (const ancho of [375, 1280]) {
    test(`axe finds nothing, initial, error and result states at ${ancho} px`, async ({ page }, info) => {
      await page.setViewportSize({ width: ancho, height: 900 });
      await abrirInteractiva(page);
      const revisar = async (estado: string) => {
        const resultado = await new AxeBuilder({ page }).analyze();
        expect(resultado.violations.map((v) => `${v.id}: ${v.help}`), estado).toEqual([]);
        await page.screenshot({ path: info.outputPath(`${estado}-${ancho}.png`), fullPage: true });
        await page.screenshot({ path: `test-results/capturas/${estado}-${ancho}.png`, fullPage: true });
      };
      await revisar('inicial');

      await page.selectOption('#b-clasificacion', 'usuario_general');
      await page.fill('#b-identificacion', '1710034066');
      await busqueda(page).getByRole('button', { name: 'Buscar ID' }).click();
      await expect(busqueda(page).locator('.resumen-errores')).toBeVisible();
      await revisar('error');

      await page.fill('#b-correo', 'maria.perez@example.com');
      await page.fill('#b-identificacion', '1710034065');
      await busqueda(page).getByRole('button', { name: 'Buscar ID' }).click();
      await expect(page.getByTestId('id-usuario')).toHaveText('MPerez');
      await revisar('resultado');
    });
  }
});
