// "Use my location": where the browser can tell, reload the page for the shopper's position.
// Without geolocation (or if she refuses) the postcode/city field still works.
for (const form of document.querySelectorAll("form[data-locate]")) {
  const button = form.querySelector("button.locate");
  if (!button || !("geolocation" in navigator)) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const url = new URL(window.location.href);
        url.searchParams.delete("q");
        url.searchParams.set("lat", position.coords.latitude.toFixed(4));
        url.searchParams.set("lon", position.coords.longitude.toFixed(4));
        window.location.assign(url);
      },
      () => { button.disabled = false; form.querySelector("input[name=q]")?.focus(); },
      { timeout: 8000, maximumAge: 600000 },
    );
  });
}
