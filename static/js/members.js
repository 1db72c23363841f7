"use strict";
// Members page: who is in the workspace (owners change roles and remove; anyone may leave), invitation
// links (owners), deleting the workspace (owners, by typing its name) and creating another one.

const membersTable = document.getElementById("members");
const membersStatus = document.getElementById("members-status");
const invitationsTable = document.getElementById("invitations");

function say(text) {
  membersStatus.textContent = text;
}

async function loadMembers() {
  try {
    const data = await Api.call("GET", "/api/members");
    renderMembers(data.members, data.you === "owner");
    if (invitationsTable) renderInvitations(data.invitations);
  } catch (error) {
    say(`Could not load members: ${error.message}`);
  }
}

function action(label, className, handler, who) {
  const node = h("button", { type: "button", class: className, "aria-label": `${label}: ${who}` }, label);
  node.addEventListener("click", handler);
  return node;
}

function renderMembers(members, owner) {
  const rows = members.map((m) => {
    const who = m.email || "Telegram account";
    const actions = [];
    if (owner && !m.you) {
      const other = m.role === "owner" ? "member" : "owner";
      actions.push(action(`Make ${other}`, "secondary", () => changeRole(m, other), who));
      actions.push(action("Remove", "danger", () => removeMember(m), who));
    }
    if (m.you) actions.push(action("Leave", "danger", () => leave(m), who));
    return h("tr", {}, [
      h("td", { "data-label": "Person" }, m.you ? [who, " ", h("strong", {}, "(you)")] : who),
      h("td", { "data-label": "Role" }, m.role === "owner" ? "Owner" : "Member"),
      h("td", { "data-label": "Joined" }, Format.date(m.joined_at)),
      h("td", { "data-label": "Actions", class: "actions-cell" }, actions),
    ]);
  });
  membersTable.tBodies[0].replaceChildren(...rows);
  membersTable.hidden = false;
  say(`${rows.length} ${rows.length === 1 ? "person" : "people"} in this workspace.`);
}

function renderInvitations(invitations) {
  const rows = invitations.map((invite) => h("tr", {}, [
    h("td", { "data-label": "Open invitation" }, invite.role === "owner" ? "As owner" : "As member"),
    h("td", { "data-label": "Expires" }, Format.date(invite.expires_at)),
    h("td", { "data-label": "Actions", class: "actions-cell" },
      action("Revoke", "danger", () => revokeInvitation(invite), `invitation expiring ${Format.date(invite.expires_at)}`)),
  ]));
  invitationsTable.tBodies[0].replaceChildren(...rows);
  invitationsTable.hidden = rows.length === 0;
}

async function attempt(what, request, then) {
  try {
    const result = await request();
    if (then) then(result);
    else loadMembers();
  } catch (error) {
    say(`Could not ${what}: ${error.message}`);
  }
}

function changeRole(member, role) {
  attempt("change the role", () => Api.call("PATCH", `/api/members/${member.user_id}`, { role }));
}

function removeMember(member) {
  if (!window.confirm(`Remove ${member.email} from this workspace? They lose access at once.`)) return;
  attempt("remove them", () => Api.call("DELETE", `/api/members/${member.user_id}`));
}

function leave(member) {
  if (!window.confirm("Leave this workspace? You will need a new invitation to come back.")) return;
  attempt("leave", () => Api.call("DELETE", `/api/members/${member.user_id}`), () => window.location.assign("/"));
}

function revokeInvitation(invite) {
  attempt("revoke the invitation", () => Api.call("DELETE", `/api/members/invitations/${invite.id}`));
}

const inviteForm = document.getElementById("invite");
if (inviteForm) {
  inviteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt("create the invitation", () => Api.call("POST", "/api/members/invitations", { role: inviteForm.role.value }),
      (created) => {
        document.getElementById("new-invite-url").textContent = created.url;
        document.getElementById("new-invite").hidden = false;
        document.getElementById("copy-invite").textContent = "Copy";
        loadMembers();
      });
  });
  document.getElementById("copy-invite").addEventListener("click",
    (event) => copyText(event.target, document.getElementById("new-invite-url")));
}

const deleteForm = document.getElementById("delete-workspace");
if (deleteForm) {
  deleteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt("delete the workspace", () => Api.call("POST", "/api/workspaces/delete", { name: deleteForm.confirm.value }),
      () => window.location.assign("/"));
  });
}

document.getElementById("create-workspace").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = event.target.workspace_name.value;
  attempt("create the workspace", () => Api.call("POST", "/api/workspaces", { name }), () => window.location.assign("/"));
});

loadMembers();
