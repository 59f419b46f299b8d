/**
 * The model layer: manifests, ONNX runtimes and sessions, the Model wrapper, the ONNX graph
 * builder and the built-in priors.
 *
 * Advanced entry point `@diffrestore/sampler/model` (see ARCHITECTURE.md); most scripts need only
 * the package's main module.
 *
 * @module
 */

export * from "./builtin_models.ts";
export * from "./manifest.ts";
export * from "./model.ts";
export * from "./onnx_graph.ts";
export * from "./ort_cache.ts";
export * from "./ort_runtime.ts";
export * from "./priors/gaussian_prior.ts";
export * from "./priors/gaussian_prior_graph.ts";
export * from "./priors/gaussian_prior_params.ts";
export * from "./priors/gmm_prior.ts";
export * from "./priors/gmm_prior_graph.ts";
export * from "./priors/gmm_prior_params.ts";
