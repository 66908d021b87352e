// ONNX model bytes for the onnxruntime-web peer: one fp32 MatMul, Y[M, N] = X[M, K] . B[K, N], with
// B a constant initializer (the weights, as in a converted nn.Linear). Encoded with protobufjs over
// the few ONNX messages needed (field numbers from onnx/onnx.proto, IR version 8, opset 17).
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

/** TensorProto.DataType.FLOAT */
const FLOAT = 1;

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
const Model = root.lookupType("ModelProto");

function valueInfo(name: string, dims: number[]) {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  };
}

/**
 * ONNX bytes of Y = MatMul(X, B): X f32 [M, K] input, B f32 [K, N] initializer (row-major), Y [M, N].
 * @param b the weights transposed to [K, N] (an nn.Linear weight W [N, K] gives B = W^T).
 */
export function matmulModel(m: number, k: number, n: number, b: Float32Array): Uint8Array {
  if (b.length !== k * n) throw new Error(`B has ${b.length} values, expected ${k}x${n}`);
  const raw = new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const message = Model.fromObject({
    irVersion: 8,
    producerName: "atp-edge bench",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "matmul",
      node: [{ input: ["X", "B"], output: ["Y"], name: "mm", opType: "MatMul" }],
      initializer: [{ name: "B", dims: [k, n], dataType: FLOAT, rawData: raw }],
      input: [valueInfo("X", [m, k])],
      output: [valueInfo("Y", [m, n])],
    },
  });
  return Model.encode(message).finish();
}
