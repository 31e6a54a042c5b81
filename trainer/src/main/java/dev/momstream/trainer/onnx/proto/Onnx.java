package dev.momstream.trainer.onnx.proto;

/**
 * Field numbers and enum values of {@code onnx.proto} (ONNX IR version 8) for the subset of
 * messages we write and read. Protobuf field numbers never change once published, so these
 * stay valid for every later ONNX release.
 */
public final class Onnx {
    private Onnx() {}

    /** The newest IR version and default-domain opset we write (Debian's python3-onnx 1.12 checks them). */
    public static final int IR_VERSION = 8;
    public static final int OPSET = 17;

    /** ModelProto. */
    public static final int MODEL_IR_VERSION = 1;
    public static final int MODEL_PRODUCER_NAME = 2;
    public static final int MODEL_PRODUCER_VERSION = 3;
    public static final int MODEL_DOC_STRING = 6;
    public static final int MODEL_GRAPH = 7;
    public static final int MODEL_OPSET_IMPORT = 8;
    public static final int MODEL_METADATA_PROPS = 14;

    /** OperatorSetIdProto. */
    public static final int OPSET_DOMAIN = 1;
    public static final int OPSET_VERSION = 2;

    /** StringStringEntryProto. */
    public static final int ENTRY_KEY = 1;
    public static final int ENTRY_VALUE = 2;

    /** GraphProto. */
    public static final int GRAPH_NODE = 1;
    public static final int GRAPH_NAME = 2;
    public static final int GRAPH_INITIALIZER = 5;
    public static final int GRAPH_INPUT = 11;
    public static final int GRAPH_OUTPUT = 12;

    /** NodeProto. */
    public static final int NODE_INPUT = 1;
    public static final int NODE_OUTPUT = 2;
    public static final int NODE_NAME = 3;
    public static final int NODE_OP_TYPE = 4;
    public static final int NODE_ATTRIBUTE = 5;

    /** AttributeProto and its AttributeType values. */
    public static final int ATTR_NAME = 1;
    public static final int ATTR_F = 2;
    public static final int ATTR_I = 3;
    public static final int ATTR_S = 4;
    public static final int ATTR_G = 6;
    public static final int ATTR_INTS = 8;
    public static final int ATTR_TYPE = 20;
    public static final int ATTR_TYPE_FLOAT = 1;
    public static final int ATTR_TYPE_INT = 2;
    public static final int ATTR_TYPE_STRING = 3;
    public static final int ATTR_TYPE_GRAPH = 5;
    public static final int ATTR_TYPE_INTS = 7;

    /** TensorProto and its data types. */
    public static final int TENSOR_DIMS = 1;
    public static final int TENSOR_DATA_TYPE = 2;
    public static final int TENSOR_NAME = 8;
    public static final int TENSOR_RAW_DATA = 9;
    public static final int TENSOR_EXTERNAL_DATA = 13;
    public static final int TENSOR_DATA_LOCATION = 14;
    public static final int DATA_LOCATION_EXTERNAL = 1;
    public static final int FLOAT = 1;
    public static final int INT64 = 7;
    public static final int BOOL = 9;

    /** ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, its Dimension. */
    public static final int VALUE_NAME = 1;
    public static final int VALUE_TYPE = 2;
    public static final int TYPE_TENSOR = 1;
    public static final int TENSOR_TYPE_ELEM_TYPE = 1;
    public static final int TENSOR_TYPE_SHAPE = 2;
    public static final int SHAPE_DIM = 1;
    public static final int DIM_VALUE = 1;
    public static final int DIM_PARAM = 2;
}
