/**
 * Build small ONNX graphs in TypeScript (ModelProto encoded with `onnx-proto`).
 *
 * Used by the built-in priors and by the tests, so nothing needs Python or a download.
 *
 * @module
 */

import onnxProto from "npm:onnx-proto@8.0.1";

const { onnx } = onnxProto;

/** Element types the builder writes. */
export type OnnxDType = "float32" | "int64" | "float16";

/** A dimension: a number, or a name for a symbolic (dynamic) dimension. */
export type Dim = number | string;

/** An attribute value of a node. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

const _DTYPE: Record<OnnxDType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  float16: onnx.TensorProto.DataType.FLOAT16,
};

function _valueInfo(
  name: string,
  dtype: OnnxDType,
  dims: readonly Dim[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: _DTYPE[dtype],
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function _attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === "number") return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ("float" in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

/**
 * An ONNX graph under construction: inputs, initializers, nodes, outputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GraphBuilder } from "@diffrestore/sampler/model";
 *
 * const g = new GraphBuilder("double");
 * const x = g.input("x", "float32", ["n", 3, "h", "w"]);
 * const two = g.constant("two", new Float32Array([2]), [1]);
 * g.output(g.node("Mul", [x, two]), "y", "float32", ["n", 3, "h", "w"]);
 * const bytes: Uint8Array = g.toBytes(); // an ONNX file
 * assert.equal(bytes[0], 0x08); // field 1 (ir_version), a varint
 * ```
 */
export class GraphBuilder {
  #name: string;
  #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  #inits: onnxProto.onnx.ITensorProto[] = [];
  #nodes: onnxProto.onnx.INodeProto[] = [];
  #counter = 0;

  /**
   * Start a graph.
   *
   * @param name The graph's name.
   */
  constructor(name: string) {
    this.#name = name;
  }

  /**
   * Declare a graph input.
   *
   * @param name Input name.
   * @param dtype Element type.
   * @param dims Shape (names for dynamic dimensions).
   * @returns The value name.
   */
  input(name: string, dtype: OnnxDType, dims: readonly Dim[]): string {
    this.#inputs.push(_valueInfo(name, dtype, dims));
    return name;
  }

  /**
   * Add a constant tensor (an initializer).
   *
   * @param name Base name (made unique).
   * @param values float32 or int64 values.
   * @param dims Shape.
   * @returns The value name.
   */
  constant(
    name: string,
    values: Float32Array | BigInt64Array | number[],
    dims: readonly number[],
  ): string {
    const unique = `${name}_${this.#counter++}`;
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new RangeError(`constant ${name}: ${values.length} values for shape [${dims}]`);
    }
    if (values instanceof BigInt64Array || Array.isArray(values)) {
      const ints = values instanceof BigInt64Array
        ? values
        : BigInt64Array.from(values.map(BigInt));
      this.#inits.push({
        name: unique,
        dims: [...dims],
        dataType: _DTYPE.int64,
        rawData: new Uint8Array(ints.buffer, ints.byteOffset, ints.byteLength),
      });
    } else {
      const copy = values.slice();
      this.#inits.push({
        name: unique,
        dims: [...dims],
        dataType: _DTYPE.float32,
        rawData: new Uint8Array(copy.buffer),
      });
    }
    return unique;
  }

  /**
   * Add a node with one output.
   *
   * @param op The operator type (`Conv`, `MatMul`, ...).
   * @param inputs Input value names (`""` for an omitted optional input).
   * @param attrs Attributes.
   * @returns The output value name.
   */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.nodeMulti(op, inputs, 1, attrs)[0];
  }

  /**
   * Add a node with several outputs.
   *
   * @param op The operator type.
   * @param inputs Input value names.
   * @param outputs How many outputs.
   * @param attrs Attributes.
   * @returns The output value names.
   */
  nodeMulti(
    op: string,
    inputs: string[],
    outputs: number,
    attrs: Record<string, AttrValue> = {},
  ): string[] {
    const outs = Array.from(
      { length: outputs },
      (_, k) => `${op.toLowerCase()}_${this.#counter}_${k}`,
    );
    this.#counter++;
    this.#nodes.push({
      opType: op,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => _attribute(k, v)),
    });
    return outs;
  }

  /**
   * Declare a graph output, renaming `value` to `name` through an Identity node.
   *
   * @param value The value to expose.
   * @param name The output's name.
   * @param dtype Element type.
   * @param dims Shape.
   */
  output(value: string, name: string, dtype: OnnxDType, dims: readonly Dim[]): void {
    this.#nodes.push({ opType: "Identity", input: [value], output: [name] });
    this.#outputs.push(_valueInfo(name, dtype, dims));
  }

  /**
   * Encode the model (IR version 8).
   *
   * @param opset The default-domain opset version (17).
   * @returns The `.onnx` bytes.
   */
  toBytes(opset = 17): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "diffrestore",
      opsetImport: [{ domain: "", version: opset }],
      graph: {
        name: this.#name,
        node: this.#nodes,
        input: this.#inputs,
        output: this.#outputs,
        initializer: this.#inits,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
