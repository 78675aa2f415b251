
// Passkeys (WebAuthn): the forms and buttons marked `data-passkey`. The server's options
// come as JSON with their binary members in base64url; they are decoded here, the browser
// is asked (`navigator.credentials`), and its answer goes back as JSON in a form posted
// as any other, so the server answers with a page. Without this script (or without
// passkeys in the browser) the forms post as they are and the pages say what is missing.
{
  const bytes = (s) =>
    Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const base64url = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  // Members the server left empty (null) are left out, as the browser expects.
  const withoutNulls = (o) => JSON.parse(JSON.stringify(o, (_, v) => (v === null ? undefined : v)));

  // What went wrong, in words, beside the control that started it.
  const say = (near, words) => {
    let p = document.getElementById("passkey-error");
    if (!p) {
      p = document.createElement("p");
      p.id = "passkey-error";
      p.className = "error";
      p.setAttribute("role", "alert");
      near.insertAdjacentElement("afterend", p);
    }
    p.textContent = words;
  };
  const refusal = (e) => {
    if (e && e.name === "NotAllowedError") {
      return "The passkey was not used: the request was cancelled or timed out. Try again.";
    }
    if (e && e.name === "InvalidStateError") {
      return "This passkey is registered already.";
    }
    return (e && e.message) || "The passkey could not be used. Reload the page and try again.";
  };
  const problem = async (res) => {
    try {
      const p = await res.json();
      if (p.detail) return p.detail.charAt(0).toUpperCase() + p.detail.slice(1) + ".";
    } catch (_) {
      // Not a problem document: the general words below.
    }
    return "Twofold did not answer as expected. Reload the page and try again.";
  };

  // POSTs `fields` to `action` as a form (the browser follows to the page it answers).
  const post = (action, fields) => {
    const form = document.createElement("form");
    form.method = "post";
    form.action = action;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  };
  // Sets (or adds) hidden field `name` of `form`, the visible ones of that name left out.
  const set = (form, name, value) => {
    for (const old of form.querySelectorAll(`[name="${name}"]`)) old.disabled = true;
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  };

  // The options of `url` for navigator.credentials.get(), asked with the form's token.
  const requestOptions = async (url, form) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { Accept: "application/json" },
      body: new URLSearchParams({ csrf: form.elements.csrf.value }),
    });
    if (!res.ok) throw new Error(await problem(res));
    const o = withoutNulls((await res.json()).publicKey);
    o.challenge = bytes(o.challenge);
    for (const c of o.allowCredentials || []) c.id = bytes(c.id);
    return o;
  };
  // The passkey's answer to the options of `url`, as the server reads it.
  const assertion = async (url, form) => {
    const publicKey = await requestOptions(url, form);
    const c = await navigator.credentials.get({ publicKey });
    const r = c.response;
    return JSON.stringify({
      id: c.id,
      rawId: base64url(c.rawId),
      type: c.type,
      response: {
        clientDataJSON: base64url(r.clientDataJSON),
        authenticatorData: base64url(r.authenticatorData),
        signature: base64url(r.signature),
        userHandle: r.userHandle ? base64url(r.userHandle) : null,
      },
    });
  };

  // The page a form answered with, in place of this one (a code to type, say).
  const show = (html) => {
    const next = new DOMParser().parseFromString(html, "text/html");
    document.title = next.title;
    document.body.replaceWith(document.adoptNode(next.body));
    wire(document.body);
  };

  // Add a passkey: the guards' pages as the server answers them, then the options.
  const register = async (form) => {
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const res = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form)),
      });
      const type = res.headers.get("content-type") || "";
      if (type.startsWith("text/html")) return show(await res.text());
      if (!res.ok) throw new Error(await problem(res));
      const o = withoutNulls((await res.json()).publicKey);
      o.challenge = bytes(o.challenge);
      o.user.id = bytes(o.user.id);
      for (const c of o.excludeCredentials || []) c.id = bytes(c.id);
      const c = await navigator.credentials.create({ publicKey: o });
      const r = c.response;
      const credential = {
        id: c.id,
        rawId: base64url(c.rawId),
        type: c.type,
        response: {
          clientDataJSON: base64url(r.clientDataJSON),
          attestationObject: base64url(r.attestationObject),
          transports: r.getTransports ? r.getTransports() : [],
        },
      };
      post("/account/factors/passkey/finish", {
        csrf: form.elements.csrf.value,
        credential: JSON.stringify(credential),
      });
    } catch (e) {
      say(button || form, refusal(e));
      if (button) button.disabled = false;
    }
  };

  const wire = (root) => {
    for (const form of root.querySelectorAll("form[data-passkey=register]")) {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        register(form);
      });
    }
    // The second step of a sign-in: the answer goes where a code would.
    for (const form of root.querySelectorAll("form[data-passkey=sign-in]")) {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const button = form.querySelector("button[type=submit]");
        try {
          const answer = await assertion(form.dataset.options, form);
          const remember = document.getElementById("remember");
          if (remember && remember.checked && remember.form !== form) set(form, "remember", "yes");
          set(form, "credential", answer);
          form.submit();
        } catch (e) {
          say(button || form, refusal(e));
        }
      });
    }
    // "Confirm it's you" with a passkey: its answer goes in the code's place, and the
    // form goes on as it would with a code.
    for (const button of root.querySelectorAll("button[data-passkey=confirm]")) {
      button.hidden = false;
      button.addEventListener("click", async () => {
        const form = button.form;
        try {
          const answer = await assertion(button.dataset.options, form);
          set(form, "step_up_method", "webauthn");
          set(form, "step_up_code", answer);
          if (form.dataset.passkey === "register") register(form);
          else form.submit();
        } catch (e) {
          say(button, refusal(e));
        }
      });
    }
  };

  if (window.PublicKeyCredential && navigator.credentials) wire(document);
}
