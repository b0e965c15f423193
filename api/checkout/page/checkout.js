// The checkout page's enhancements: card number grouping, expiry
// formatting and a Luhn check before the form is sent. Without them the
// plain form post works the same (the server checks everything again).
(function () {
  "use strict";
  var form = document.getElementById("pay-form");
  if (!form) { return; }
  var number = document.getElementById("number");
  var expiry = document.getElementById("expiry");
  var cvc = document.getElementById("cvc");
  var button = document.getElementById("pay-button");
  var error = document.getElementById("form-error");

  function digits(s) { return s.replace(/\D+/g, ""); }

  function luhn(d) {
    var sum = 0, dbl = false;
    for (var i = d.length - 1; i >= 0; i--) {
      var n = d.charCodeAt(i) - 48;
      if (dbl) { n *= 2; if (n > 9) { n -= 9; } }
      sum += n; dbl = !dbl;
    }
    return d.length >= 12 && d.length <= 19 && sum % 10 === 0;
  }

  function groups(d) {
    if (/^3[47]/.test(d)) { // amex: 4-6-5
      return [d.slice(0, 4), d.slice(4, 10), d.slice(10, 15)].filter(Boolean).join(" ");
    }
    return d.slice(0, 19).replace(/(\d{4})(?=\d)/g, "$1 ");
  }

  function show(msg) {
    error.textContent = msg;
    error.hidden = false;
  }

  number.addEventListener("input", function () {
    var d = digits(number.value);
    number.value = groups(d);
    cvc.maxLength = /^3[47]/.test(d) ? 4 : 3;
  });

  expiry.addEventListener("input", function (e) {
    var d = digits(expiry.value).slice(0, 4);
    if (d.length === 1 && d > "1") { d = "0" + d; }
    expiry.value = d.length > 2 ? d.slice(0, 2) + " / " + d.slice(2) : (d.length === 2 && e.inputType !== "deleteContentBackward" ? d + " / " : d);
  });

  cvc.addEventListener("input", function () { cvc.value = digits(cvc.value).slice(0, 4); });

  form.addEventListener("submit", function (e) {
    var d = digits(number.value);
    if (!luhn(d)) {
      e.preventDefault();
      show("Your card number is incorrect.");
      number.setAttribute("aria-invalid", "true");
      number.focus();
      return;
    }
    if (!/^\d{2} ?\/ ?\d{2}(\d{2})?$/.test(expiry.value.trim())) {
      e.preventDefault();
      show("Enter the expiry date as MM / YY.");
      expiry.setAttribute("aria-invalid", "true");
      expiry.focus();
      return;
    }
    if (!/^\d{3,4}$/.test(cvc.value)) {
      e.preventDefault();
      show("Your card's security code is invalid.");
      cvc.setAttribute("aria-invalid", "true");
      cvc.focus();
      return;
    }
    button.disabled = true;
    button.textContent = "Processing…";
  });
})();
