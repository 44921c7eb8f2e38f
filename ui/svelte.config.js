import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default {
  preprocess: vitePreprocess(),
  compilerOptions: {
    runes: true,
    // Component CSS goes to the emitted .css file, never to a runtime <style> tag (CSP).
    css: 'external',
  },
};
