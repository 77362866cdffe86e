/* The vpostcode map page: communes coloured by postal coverage, postal points, click-to-locate and search.
 *
 * Everything comes from this service's own API (no tiles, no CDN): the commune shapes as GeoJSON from
 * /v1/coverage/communes, the points from /v1/postal-points, the place under a click from /v1/reverse, a search
 * from /v1/codes/{code} (an address code) or /v1/geocode (an address). The page exposes `window.vpostcode`
 * (the Leaflet map and a `ready` promise) for the browser tests.
 */
(function () {
  "use strict";

  var COLOURS = { inside: "#2e8b57", nearby: "#a6d96a", unserved: "#e34a33", offshore: "#bbbbbb" };
  var CODE_RE = /^\s*[B-DF-HJKMNP-TV-Z][0-9B-DF-HJKMNP-TV-Z\s-]{1,12}\s*$/i;
  var LOCAL_RE = /^\s*\d{5}\s*-\s*[0-9A-Z]{1,9}\s*$/i;

  var map = L.map("map", { preferCanvas: true, zoomControl: true, minZoom: 4, maxZoom: 19 })
    .fitBounds([[8.2, 102.1], [23.4, 109.5]]);
  var statusBox = document.getElementById("status");
  var resultBox = document.getElementById("result");
  var highlight = L.layerGroup().addTo(map);
  var marker = null;

  function setStatus(text, isError) {
    statusBox.textContent = text;
    statusBox.className = isError ? "error" : "";
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var error = new Error(body.detail || body.title || ("HTTP " + response.status));
          error.problem = body;
          throw error;
        }
        return body;
      });
    });
  }

  function escapeHtml(text) {
    return String(text === null || text === undefined ? "—" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function displayCode(code) {
    if (!code) return null;
    return code.length > 7 ? code.slice(0, 4) + "-" + code.slice(4, 7) + "-" + code.slice(7)
      : code.length > 4 ? code.slice(0, 4) + "-" + code.slice(4) : code;
  }

  /* The place card: what the API says about one spot. */
  function placeHtml(place, title) {
    var rows = [
      ["Commune", place.commune_name ? place.commune_name + " (" + place.commune_code + ")" : null, ""],
      ["Province", place.province_name, ""],
      ["Postal code", place.postal_code, "code"],
      ["Address code", displayCode(place.address_code), "code"],
      ["Local code", place.local_code, "code"]
    ];
    var html = '<div class="place" data-commune-code="' + escapeHtml(place.commune_code || "") +
      '" data-postal-code="' + escapeHtml(place.postal_code || "") + '" data-address-code="' +
      escapeHtml(place.address_code || "") + '"><h3>' + escapeHtml(title || place.commune_name || "No commune") +
      "</h3><dl>";
    rows.forEach(function (row) {
      html += "<dt>" + row[0] + '</dt><dd class="' + row[2] + '">' + escapeHtml(row[1]) + "</dd>";
    });
    return html + "</dl></div>";
  }

  function outline(code) {
    highlight.clearLayers();
    if (!code) return Promise.resolve();
    return getJSON("/v1/communes/" + encodeURIComponent(code) + "?format=geojson&tolerance=0.0002")
      .then(function (feature) {
        L.geoJSON(feature, { style: { color: "#1d2733", weight: 2, fill: false }, interactive: false })
          .addTo(highlight);
      }).catch(function () { /* the card is enough */ });
  }

  /* Show what is at a point: reverse geocode through the API, card in the panel and a popup. */
  function showPlace(lat, lng, title) {
    setStatus("Locating " + lat.toFixed(5) + ", " + lng.toFixed(5) + "…");
    return getJSON("/v1/reverse?lat=" + lat.toFixed(7) + "&lon=" + lng.toFixed(7)).then(function (place) {
      var html = placeHtml(place, title);
      resultBox.innerHTML = html;
      if (marker) map.removeLayer(marker);
      marker = L.marker([lat, lng]).addTo(map).bindPopup(html).openPopup();
      setStatus(place.commune_code ? "Found " + place.commune_name : "Not in a commune (sea or abroad)");
      return outline(place.commune_code).then(function () { return place; });
    }).catch(function (error) { setStatus(error.message, true); });
  }

  map.on("click", function (event) { showPlace(event.latlng.lat, event.latlng.lng); });

  /* Search: an address code (full or local) is decoded; anything else is geocoded as an address. */
  document.getElementById("search").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = document.getElementById("q").value.trim();
    if (!text) return;
    var looksLikeCode = LOCAL_RE.test(text) || (CODE_RE.test(text) && text.replace(/[\s-]/g, "").length <= 10 &&
      !/\s\S+\s/.test(text));
    setStatus("Searching…");
    var lookup = looksLikeCode
      ? getJSON("/v1/codes/" + encodeURIComponent(text)).then(function (cell) {
          return { lat: cell.lat, lon: cell.lon, zoom: 18, title: displayCode(cell.code) };
        })
      : getJSON("/v1/geocode?limit=1&q=" + encodeURIComponent(text)).then(function (body) {
          if (!body.candidates.length) throw new Error("No commune found for this address");
          var best = body.candidates[0];
          return { lat: best.lat, lon: best.lon, zoom: best.precision === "address_code" ? 18 : 14,
                   title: best.standard_address };
        });
    lookup.then(function (target) {
      map.flyTo([target.lat, target.lon], target.zoom, { duration: 0.8 });
      return showPlace(target.lat, target.lon, target.title);
    }).catch(function (error) {
      var hint = error.problem && error.problem.suggestions && error.problem.suggestions.length
        ? " Did you mean " + error.problem.suggestions.slice(0, 3).join(", ") + "?" : "";
      setStatus(error.message + hint, true);
    });
  });

  /* The layers: communes coloured by coverage, then the postal points on top. */
  var coarseLayer = null;
  var communes = getJSON("/v1/coverage/communes?tolerance=0.003").then(function (collection) {
    var counts = { inside: 0, nearby: 0, unserved: 0, offshore: 0 };
    coarseLayer = L.geoJSON(collection, {
      interactive: false,
      style: function (feature) {
        var status = feature.properties.status;
        counts[status] = (counts[status] || 0) + 1;
        return { color: "#55606b", weight: 0.4, fillColor: COLOURS[status] || "#999", fillOpacity: 0.55 };
      }
    }).addTo(map);
    document.getElementById("counts").textContent = counts.inside + " inside · " + counts.nearby +
      " nearby · " + counts.unserved + " unserved";
    return collection.features.length;
  });
  var pointsLayer = null;
  var points = getJSON("/v1/postal-points?limit=5000&format=geojson").then(function (collection) {
    pointsLayer = L.geoJSON(collection, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 3, color: "#1f3a93", weight: 1, fillOpacity: 0.9 });
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(escapeHtml(feature.properties.name) + " (" + escapeHtml(feature.properties.kind) + ")");
      }
    }).addTo(map);
    return collection.features.length;
  });

  /* Zoomed in, the province under the centre is drawn again with finer outlines (once per province). */
  var detailed = {};
  map.on("moveend", function () {
    if (map.getZoom() < 11) return;
    var centre = map.getCenter();
    getJSON("/v1/reverse?lat=" + centre.lat.toFixed(5) + "&lon=" + centre.lng.toFixed(5)).then(function (place) {
      var province = place.province_code;
      if (!province || detailed[province]) return;
      detailed[province] = true;
      return getJSON("/v1/coverage/communes?province=" + province + "&tolerance=0.0003").then(function (fine) {
        L.geoJSON(fine, {
          interactive: false,
          style: function (feature) {
            return { color: "#55606b", weight: 0.6, fillColor: COLOURS[feature.properties.status] || "#999",
                     fillOpacity: 0.55 };
          }
        }).addTo(map);
        if (coarseLayer) {
          coarseLayer.eachLayer(function (layer) {
            if (layer.feature.properties.province_code === province) layer.setStyle({ opacity: 0, fillOpacity: 0 });
          });
        }
        highlight.eachLayer(function (layer) { if (layer.bringToFront) layer.bringToFront(); });
        if (pointsLayer) pointsLayer.bringToFront();
      });
    }).catch(function () { /* the coarse layer stays */ });
  });

  var ready = Promise.all([communes, points]).then(function (sizes) {
    setStatus("Ready: " + sizes[0] + " communes, " + sizes[1] + " postal points. Click the map or search.");
    document.body.setAttribute("data-ready", "true");
  }).catch(function (error) {
    setStatus("Could not load the map data: " + error.message, true);
    document.body.setAttribute("data-ready", "error");
  });

  window.vpostcode = { map: map, ready: ready, showPlace: showPlace };
})();
