// probe.js as text (wrangler.toml Text rule).
declare const text: string;
export default text;
