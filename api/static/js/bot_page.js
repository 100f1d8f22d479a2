// A bot's own admin pages (Bots → bot → Atendimento Humano, Canais) take the bot's name from the
// address. A name nobody published (a typo, a bot not published yet; no route removes a bot) is
// said in pt-BR, with the way back to Bots and none of the page's forms, instead of a page left
// "Carregando…" with empty forms.
import { $, h } from "./dom.js";
import { ApiError, api, codeText } from "./common.js";

/** Resolves when `bot` is published; an ApiError `unknown_bot` when it is not. */
export async function published(bot) {
  await api(`/api/bots/${encodeURIComponent(bot)}/source`, { raw: true });
}

/** Run the page's first `load`: a bot not published replaces the page with the notice; any
 * other failure is said in `status` (pt-BR, by its code), never left as an uncaught error. */
export async function loadBotPage(bot, load, status) {
  try {
    await load();
  } catch (error) {
    if (error instanceof ApiError && error.code === "unknown_bot") notPublished(bot);
    else status.textContent = `Não foi possível carregar: ${codeText(error, { bot })}`;
  }
}

function notPublished(bot) {
  $("#main").replaceChildren(
    h("div", { class: "crumbs" }, h("a", { href: "/bots" }, "Bots"), ` › ${bot}`),
    h("h1", {}, bot),
    h("div", { class: "notice warn", role: "alert", id: "not-published" },
      `O bot “${bot}” não está publicado: confira o nome no endereço da página ou publique o bot em Bots. `,
      h("a", { href: "/bots" }, "Voltar para Bots")));
  document.title = `Bot não publicado · Transbordo`;
}
