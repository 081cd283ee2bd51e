// Code passed to page.evaluate runs in Chromium, not in Node: these names exist there. The test project
// does not load the DOM library (its fetch and Buffer types would clash with Node's).
declare const document: any;
declare const window: any;
declare const DataTransfer: any;
