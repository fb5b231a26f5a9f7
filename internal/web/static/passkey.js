// Passkeys on the hosted pages: the sign-in page (a "Sign in with a passkey" button, and passkeys offered
// in the autofill of the email input), the second-factor page (the same button for the user's passkeys)
// and the account page's passkeys section ("Add a passkey"). Each [data-passkey] element names its options
// endpoint in data-options; the script asks it for a ceremony (POST with the CSRF token of the element's
// form), hands the options to navigator.credentials, and posts the browser's answer with that form, so the
// server answers with an ordinary redirect. Nothing here is needed for the rest of the page: the elements
// stay hidden when the script does not run or the browser has no WebAuthn.
//
// The sign-in element's data-conditional tells how its autofill request goes: "1" (to be offered),
// "started", "chosen", "aborted" (the button took over) or "ended" (refused or failed, silently).
//
// The options and the answer travel as JSON with binary members in base64url (WebAuthn Level 3 §5.1.8);
// the conversions are written out here because the browsers' own JSON helpers are not everywhere yet.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
    return;
  }

  function toBuffer(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: toBuffer(d.id) };
      if (d.transports) {
        out.transports = d.transports;
      }
      return out;
    });
  }

  // creationOptions and requestOptions turn the server's JSON into what navigator.credentials takes.
  function creationOptions(pk) {
    pk.challenge = toBuffer(pk.challenge);
    pk.user.id = toBuffer(pk.user.id);
    pk.excludeCredentials = descriptors(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(pk) {
    pk.challenge = toBuffer(pk.challenge);
    pk.allowCredentials = descriptors(pk.allowCredentials);
    return pk;
  }

  // credentialJSON is the PublicKeyCredential as the server reads it.
  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toBase64url(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  // ServerRefusal carries the options endpoint's error_description, already in the page's language.
  function ServerRefusal(message) {
    this.name = "ServerRefusal";
    this.message = message;
  }

  // fetchOptions asks the element's options endpoint for a new ceremony.
  function fetchOptions(box, form) {
    var body = new URLSearchParams();
    var token = form.elements.csrf_token.value;
    body.set("csrf_token", token);
    if (form.elements.flow) {
      body.set("flow", form.elements.flow.value);
    }
    return fetch(box.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token, "Accept": "application/json" },
      body: body
    }).then(function (res) {
      return res.json().catch(function () {
        return {};
      }).then(function (j) {
        if (!res.ok || !j.publicKey || !j.ceremony) {
          throw new ServerRefusal(j.error_description || box.getAttribute("data-msg-failed"));
        }
        return j;
      });
    });
  }

  function post(form, ceremony, cred) {
    form.elements.ceremony.value = ceremony;
    form.elements.credential.value = credentialJSON(cred);
    if (form.elements.flow) {
      // The second-factor page's "Remember this device" travels with the answer.
      var remember = document.querySelector('input[type="checkbox"][name="remember"]');
      if (remember && remember.checked) {
        var field = document.createElement("input");
        field.type = "hidden";
        field.name = "remember";
        field.value = remember.value || "on";
        form.appendChild(field);
      }
    }
    form.submit();
  }

  function controls(box) {
    return {
      form: box.querySelector("[data-passkey-form]"),
      button: box.querySelector("[data-passkey-button]"),
      status: box.querySelector("[data-passkey-status]")
    };
  }

  function explain(box, status, err) {
    var msg = box.getAttribute("data-msg-failed");
    if (err && err.name === "ServerRefusal") {
      msg = err.message;
    } else if (err && err.name === "NotAllowedError") {
      msg = box.getAttribute("data-msg-cancelled");
    } else if (err && err.name === "InvalidStateError" && box.hasAttribute("data-msg-exists")) {
      msg = box.getAttribute("data-msg-exists");
    }
    status.textContent = msg;
  }

  function setupSignin(box) {
    var c = controls(box);
    var pending = null; // the AbortController of the conditional request, while it waits
    box.hidden = false;

    // The button submits the form, so that Enter works too; the script takes over the submission.
    c.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (c.button.disabled) {
        return;
      }
      // One request at a time: the autofill request gives way to the button's.
      if (pending) {
        pending.abort();
        pending = null;
        box.setAttribute("data-conditional", "aborted");
      }
      c.button.disabled = true;
      c.status.textContent = box.getAttribute("data-msg-working");
      fetchOptions(box, c.form).then(function (o) {
        return navigator.credentials.get({ publicKey: requestOptions(o.publicKey) }).then(function (cred) {
          if (!cred) {
            throw new Error("no credential");
          }
          post(c.form, o.ceremony, cred);
        });
      }).catch(function (err) {
        c.button.disabled = false;
        explain(box, c.status, err);
      });
    });

    var input = document.querySelector('input[autocomplete="username webauthn"]');
    if (box.getAttribute("data-conditional") !== "1" || !input || !PublicKeyCredential.isConditionalMediationAvailable) {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || pending) {
        return;
      }
      var ctl = new AbortController();
      pending = ctl;
      fetchOptions(box, c.form).then(function (o) {
        if (ctl.signal.aborted) {
          return;
        }
        box.setAttribute("data-conditional", "started");
        return navigator.credentials.get({
          mediation: "conditional",
          publicKey: requestOptions(o.publicKey),
          signal: ctl.signal
        }).then(function (cred) {
          if (pending === ctl) {
            pending = null;
          }
          if (cred) {
            box.setAttribute("data-conditional", "chosen");
            post(c.form, o.ceremony, cred);
          }
        });
      }).catch(function () {
        // The autofill is an offer the person did not ask for: its failures (the button took over, no
        // passkey here, the browser declined) are not shown. The button still works.
        if (pending === ctl) {
          pending = null;
        }
        if (!ctl.signal.aborted) {
          box.setAttribute("data-conditional", "ended");
        }
      });
    }).catch(function () {});
  }

  function setupRegister(box) {
    var c = controls(box);
    box.hidden = false;
    var note = document.querySelector("[data-passkey-nojs]");
    if (note) {
      note.hidden = true;
    }
    c.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (c.button.disabled) {
        return;
      }
      c.button.disabled = true;
      c.status.textContent = box.getAttribute("data-msg-working");
      fetchOptions(box, c.form).then(function (o) {
        return navigator.credentials.create({ publicKey: creationOptions(o.publicKey) }).then(function (cred) {
          if (!cred) {
            throw new Error("no credential");
          }
          post(c.form, o.ceremony, cred);
        });
      }).catch(function (err) {
        c.button.disabled = false;
        explain(box, c.status, err);
      });
    });
  }

  var boxes = document.querySelectorAll("[data-passkey]");
  for (var i = 0; i < boxes.length; i++) {
    if (boxes[i].getAttribute("data-passkey") === "register") {
      setupRegister(boxes[i]);
    } else {
      setupSignin(boxes[i]);
    }
  }
})();
