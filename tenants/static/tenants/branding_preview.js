/* A live approximation of tenants/theme.py while typing; the saved theme is always recomputed on the server. */
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("[data-theme-preview]");
  if (!box) { return; }
  var note = document.querySelector("[data-theme-live]");
  var fonts = JSON.parse(document.getElementById("theme-fonts").textContent);
  var HEX = /^#[0-9a-fA-F]{6}$/;
  function rgb(h) { return [1, 3, 5].map(function (i) { return parseInt(h.substr(i, 2), 16) / 255; }); }
  function lum(h) { var c = rgb(h).map(function (v) { return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }
  function ratio(a, b) { var x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); }
  function fg(bg) { var soft = ratio("#111111", bg) >= ratio("#ffffff", bg) ? "#111111" : "#ffffff"; if (ratio(soft, bg) >= 4.5) { return soft; } return ratio("#000000", bg) >= ratio("#ffffff", bg) ? "#000000" : "#ffffff"; }
  function hex(c) { return "#" + c.map(function (v) { return ("0" + Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16)).slice(-2); }).join(""); }
  function hls(h) { var c = rgb(h), mx = Math.max.apply(null, c), mn = Math.min.apply(null, c), l = (mx + mn) / 2, d = mx - mn, s = 0, hue = 0; if (d) { s = l <= 0.5 ? d / (mx + mn) : d / (2 - mx - mn); hue = mx === c[0] ? (c[1] - c[2]) / d : mx === c[1] ? 2 + (c[2] - c[0]) / d : 4 + (c[0] - c[1]) / d; hue = ((hue / 6) % 1 + 1) % 1; } return [hue, l, s]; }
  function v(m1, m2, t) { t = ((t % 1) + 1) % 1; if (t < 1 / 6) { return m1 + (m2 - m1) * t * 6; } if (t < 0.5) { return m2; } if (t < 2 / 3) { return m1 + (m2 - m1) * (2 / 3 - t) * 6; } return m1; }
  function shade(p, l) { if (!p[2]) { return hex([l, l, l]); } var m2 = l <= 0.5 ? l * (1 + p[2]) : l + p[2] - l * p[2], m1 = 2 * l - m2; return hex([v(m1, m2, p[0] + 1 / 3), v(m1, m2, p[0]), v(m1, m2, p[0] - 1 / 3)]); }
  function toward(c, bg, end) { var p = hls(c); if (ratio(shade(p, end), bg) < 4.5) { return null; } var good = end, bad = p[1]; for (var i = 0; i < 24; i++) { var mid = (good + bad) / 2; if (ratio(shade(p, mid), bg) >= 4.5) { good = mid; } else { bad = mid; } } return shade(p, good); }
  function reach(c, bg) { if (ratio(c, bg) >= 4.5) { return c; } var l = hls(c)[1], opts = [toward(c, bg, 0), toward(c, bg, 1)].filter(Boolean); opts.sort(function (a, b) { return Math.abs(hls(a)[1] - l) - Math.abs(hls(b)[1] - l); }); return opts[0] || fg(bg); }
  function field(n) { return document.getElementById("id_" + n); }
  function update() {
    var p = field("primary_color").value.trim(), a = field("accent_color").value.trim(), bg = field("background_color").value.trim();
    if (!HEX.test(p) || !HEX.test(a) || !HEX.test(bg)) { note.textContent = "Not previewed: a colour is not like #1f6feb."; return; }
    p = p.toLowerCase(); a = a.toLowerCase(); bg = bg.toLowerCase();
    var link = reach(p, bg), accentText = reach(a, bg), vars = {"primary": p, "on-primary": fg(p), "accent": a, "on-accent": fg(a), "background": bg, "text": fg(bg), "link": link, "accent-text": accentText, "font": fonts[field("font").value] || fonts.system};
    Object.keys(vars).forEach(function (k) { box.style.setProperty("--pv-" + k, vars[k]); });
    var changed = [];
    if (link !== p) { changed.push("Primary colour " + p + " (" + ratio(p, bg).toFixed(2) + ":1) as text: " + link); }
    if (accentText !== a) { changed.push("Accent colour " + a + " (" + ratio(a, bg).toFixed(2) + ":1) as text: " + accentText); }
    note.textContent = "Unsaved preview." + (changed.length ? " Will be adjusted: " + changed.join("; ") + "." : "");
  }
  ["primary_color", "accent_color", "background_color", "font"].forEach(function (n) { var el = field(n); if (el) { el.addEventListener("input", update); el.addEventListener("change", update); } });
});
