// The storefront's shell module, loaded on every shop page (filled by the PWA work).
