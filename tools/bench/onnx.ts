// ONNX model bytes for the onnxruntime-web peers, encoded with protobufjs over the few ONNX messages
// needed (field numbers from onnx/onnx.proto, IR version 8, opset 17): a small graph builder (`Graph`),
// one fp32 MatMul for the kernel benchmark (`matmulModel`) and, in onnx-llava.ts, the whole model.
import protobuf from "protobufjs";

const ONNX_SCHEMA = {
  nested: {
    ModelProto: {
      fields: {
        irVersion: { id: 1, type: "int64" },
        producerName: { id: 2, type: "string" },
        graph: { id: 7, type: "GraphProto" },
        opsetImport: { id: 8, type: "OperatorSetIdProto", rule: "repeated" },
      },
    },
    OperatorSetIdProto: { fields: { domain: { id: 1, type: "string" }, version: { id: 2, type: "int64" } } },
    GraphProto: {
      fields: {
        node: { id: 1, type: "NodeProto", rule: "repeated" },
        name: { id: 2, type: "string" },
        initializer: { id: 5, type: "TensorProto", rule: "repeated" },
        input: { id: 11, type: "ValueInfoProto", rule: "repeated" },
        output: { id: 12, type: "ValueInfoProto", rule: "repeated" },
      },
    },
    NodeProto: {
      fields: {
        input: { id: 1, type: "string", rule: "repeated" },
        output: { id: 2, type: "string", rule: "repeated" },
        name: { id: 3, type: "string" },
        opType: { id: 4, type: "string" },
        attribute: { id: 5, type: "AttributeProto", rule: "repeated" },
      },
    },
    AttributeProto: {
      fields: {
        name: { id: 1, type: "string" },
        f: { id: 2, type: "float" },
        i: { id: 3, type: "int64" },
        ints: { id: 8, type: "int64", rule: "repeated" },
        type: { id: 20, type: "int32" },
      },
    },
    TensorProto: {
      fields: {
        dims: { id: 1, type: "int64", rule: "repeated" },
        dataType: { id: 2, type: "int32" },
        name: { id: 8, type: "string" },
        rawData: { id: 9, type: "bytes" },
      },
    },
    ValueInfoProto: { fields: { name: { id: 1, type: "string" }, type: { id: 2, type: "TypeProto" } } },
    TypeProto: {
      fields: { tensorType: { id: 1, type: "TensorTypeProto" } },
    },
    TensorTypeProto: {
      fields: { elemType: { id: 1, type: "int32" }, shape: { id: 2, type: "TensorShapeProto" } },
    },
    TensorShapeProto: { fields: { dim: { id: 1, type: "Dimension", rule: "repeated" } } },
    Dimension: { fields: { dimValue: { id: 1, type: "int64" } } },
  },
};

/** TensorProto.DataType: FLOAT, INT64. */
const FLOAT = 1;
const INT64 = 7;
/** AttributeProto.AttributeType: FLOAT, INT, INTS. */
const ATTR = { float: 1, int: 2, ints: 7 } as const;

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
const Model = root.lookupType("ModelProto");

function valueInfo(name: string, dims: number[], elemType = FLOAT) {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/** A node attribute: a number (float unless `int`), or a list of ints. */
export type Attr = number | { int: number } | number[];

function attribute(name: string, v: Attr) {
  if (Array.isArray(v)) return { name, ints: v, type: ATTR.ints };
  if (typeof v === "object") return { name, i: v.int, type: ATTR.int };
  return { name, f: v, type: ATTR.float };
}

/** An ONNX graph being built: constants, nodes with generated output names, inputs and outputs. */
export class Graph {
  private readonly nodes: object[] = [];
  private readonly inits: object[] = [];
  private readonly inputs: object[] = [];
  private n = 0;

  /** A float input. */
  input(name: string, dims: number[], elemType: "float" | "int64" = "float"): string {
    this.inputs.push(valueInfo(name, dims, elemType === "float" ? FLOAT : INT64));
    return name;
  }
  /** An f32 constant (row-major `dims`). */
  f32(name: string, dims: number[], data: Float32Array): string {
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.inits.push({ name, dims, dataType: FLOAT, rawData: raw });
    return name;
  }
  /** An f32 constant named by the graph. */
  constF32(dims: number[], data: Float32Array): string {
    return this.f32(`c${this.n++}`, dims, data);
  }
  /** An int64 vector constant (shapes, slice bounds). */
  i64(values: number[]): string {
    const name = `c${this.n++}`;
    const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
    this.inits.push({ name, dims: [values.length], dataType: INT64, rawData: raw });
    return name;
  }
  /** One node; returns its (single) output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const out = `t${this.n++}`;
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ input: inputs, output: [out], name: out, opType, attribute: attribute_ });
    return out;
  }
  /** The model bytes with `output` (float, `dims`) as the graph's output. */
  encode(output: string, dims: number[]): Uint8Array {
    const message = Model.fromObject({
      irVersion: 8,
      producerName: "atp-edge bench",
      opsetImport: [{ domain: "", version: 17 }],
      graph: {
        name: "g",
        node: [...this.nodes, { input: [output], output: ["Y"], name: "out", opType: "Identity" }],
        initializer: this.inits,
        input: this.inputs,
        output: [valueInfo("Y", dims)],
      },
    });
    return Model.encode(message).finish();
  }
}

/**
 * ONNX bytes of Y = MatMul(X, B): X f32 [M, K] input, B f32 [K, N] initializer (row-major), Y [M, N].
 * @param b the weights transposed to [K, N] (an nn.Linear weight W [N, K] gives B = W^T).
 */
export function matmulModel(m: number, k: number, n: number, b: Float32Array): Uint8Array {
  if (b.length !== k * n) throw new Error(`B has ${b.length} values, expected ${k}x${n}`);
  const g = new Graph();
  const y = g.op("MatMul", [g.input("X", [m, k]), g.f32("B", [k, n], b)]);
  return g.encode(y, [m, n]);
}
