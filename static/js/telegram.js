"use strict";
// Telegram page: which bot (if one is configured), the accounts linked to this workspace (with unlink),
// and one-time link codes for the bot.

const telegramStatus = document.getElementById("telegram-status");
const linkBox = document.getElementById("link-code");
const linkCommand = document.getElementById("link-command");
const accountsTable = document.getElementById("telegram-accounts");

async function loadOverview() {
  try {
    const data = await Api.call("GET", "/api/telegram");
    renderBot(data);
    renderAccounts(data.accounts);
  } catch (error) {
    telegramStatus.textContent = `Could not load the Telegram status: ${error.message}`;
  }
}

function renderBot(data) {
  const bot = document.getElementById("bot-name");
  if (data.bot_username) {
    bot.replaceChildren("The bot is ", h("a", { href: data.bot_link, rel: "noopener" }, `@${data.bot_username}`), ".");
  } else if (data.bot_configured) {
    bot.textContent = "A bot runs on this server, but its @name is not set (TELEGRAM_BOT_USERNAME): ask its operator.";
  } else {
    bot.textContent = "This server names no Telegram bot (TELEGRAM_BOT_USERNAME is unset). If its operator runs "
      + "one, send it the code below; otherwise Telegram is not available here.";
  }
}

// Unlinking takes someone out of the workspace: owners only (members see the list).
const canUnlink = accountsTable.dataset.canUnlink === "yes";

function renderAccounts(accounts) {
  const rows = accounts.map((account) => {
    let unlink = null;
    if (canUnlink) {
      unlink = h("button", { type: "button", class: "danger", "aria-label": `Unlink Telegram account ${account.telegram_id}` }, "Unlink");
      unlink.addEventListener("click", () => unlinkAccount(account));
    }
    return h("tr", {}, [
      h("td", { "data-label": "Telegram account" }, String(account.telegram_id)),
      h("td", { "data-label": "Since" }, Format.date(account.since)),
      h("td", { "data-label": "Actions", class: "actions-cell" }, unlink),
    ]);
  });
  accountsTable.tBodies[0].replaceChildren(...rows);
  accountsTable.hidden = rows.length === 0;
  telegramStatus.textContent = rows.length
    ? `${rows.length} Telegram account${rows.length === 1 ? " is" : "s are"} linked to this workspace.`
    : "No Telegram account is linked yet.";
}

async function unlinkAccount(account) {
  if (!window.confirm(`Unlink Telegram account ${account.telegram_id}? Its next message starts a workspace of its own.`)) return;
  try {
    await Api.call("DELETE", `/api/telegram/accounts/${account.id}`);
    loadOverview();
  } catch (error) {
    telegramStatus.textContent = `Could not unlink: ${error.message}`;
  }
}

document.getElementById("create-code").addEventListener("click", async () => {
  try {
    const issued = await Api.call("POST", "/api/telegram/link-codes");
    linkCommand.textContent = issued.command;
    document.getElementById("link-expiry").textContent = ` before ${Format.date(issued.expires_at)}`;
    const deepLink = document.getElementById("deep-link");
    deepLink.href = issued.deep_link || "#";
    document.getElementById("deep-link-row").hidden = !issued.deep_link;
    linkBox.hidden = false;
    document.getElementById("copy-command").textContent = "Copy";
  } catch (error) {
    telegramStatus.textContent = `Could not create a code: ${error.message}`;
  }
});

document.getElementById("copy-command").addEventListener("click", (event) => copyText(event.target, linkCommand));

loadOverview();
