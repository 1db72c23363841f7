"use strict";
// Telegram page: how many chats post into this workspace, and one-time link codes for the bot.

const telegramStatus = document.getElementById("telegram-status");
const linkBox = document.getElementById("link-code");
const linkCommand = document.getElementById("link-command");

async function loadOverview() {
  try {
    const data = await Api.call("GET", "/api/telegram");
    const bot = data.bot_username ? `@${data.bot_username}` : "the Socrate bot";
    const linked = data.linked_accounts;
    telegramStatus.textContent = linked
      ? `${linked} Telegram account${linked === 1 ? " is" : "s are"} linked to this workspace through ${bot}.`
      : `No Telegram account is linked yet. Create a code and send it to ${bot}.`;
  } catch (error) {
    telegramStatus.textContent = `Could not load the Telegram status: ${error.message}`;
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
