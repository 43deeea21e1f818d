/**
 * Request and response shapes of the SQL API v2, written from Snowflake's
 * OpenAPI spec (snowflakedb/snowflake-rest-api-specs `specifications/sqlapi.yaml`)
 * and its reference (https://docs.snowflake.com/en/developer-guide/sql-api/reference).
 * Only the fields this client sends or reads.
 */

/** A bind value: Snowflake types its placeholders (`?`, `:1`) by these (TEXT, FIXED, BOOLEAN, TIMESTAMP_NTZ, …). */
export interface Binding {
  type: string;
  value: string | null;
}

/** POST /api/v2/statements body (`SubmitStatement`). Context fields are case-sensitive. */
export interface SubmitStatementRequest {
  statement: string;
  /** Seconds; 0 is the maximum (604800). */
  timeout?: number;
  database?: string;
  schema?: string;
  warehouse?: string;
  role?: string;
  /** Not allowed in a multi-statement request. */
  bindings?: Record<string, Binding>;
  /** Session parameters; names are case-insensitive (the spec writes them in lower case, the docs' examples in upper). */
  parameters?: {
    /** 0 = any number; default 1. A mismatch is a 422. A string in the docs' example, an integer in sqlapi.yaml. */
    MULTI_STATEMENT_COUNT?: string;
    query_tag?: string;
    timezone?: string;
  };
}

/** `rowType[]`: one column. */
export interface ColumnType {
  name: string;
  type: string;
  length?: number;
  precision?: number;
  scale?: number;
  nullable?: boolean;
}

/** `partitionInfo[]`: one partition of a result; partition 0 comes with the first response. */
export interface PartitionInfo {
  rowCount: number;
  uncompressedSize?: number;
  compressedSize?: number;
}

/** 200 (`ResultSet`). Code `090001` = success. */
export interface ResultSet {
  code?: string;
  sqlState?: string;
  message?: string;
  statementHandle: string;
  statementStatusUrl?: string;
  createdOn?: number;
  resultSetMetaData?: {
    format?: 'jsonv2';
    numRows?: number;
    rowType?: ColumnType[];
    partitionInfo?: PartitionInfo[];
  };
  /** Every value a string (or null), whatever the column type. */
  data?: (string | null)[][];
  /** Present for a multi-statement request: each statement's handle, in order. */
  statementHandles?: string[];
  stats?: { numRowsInserted?: number; numRowsUpdated?: number; numRowsDeleted?: number; numDuplicateRowsUpdated?: number };
}

/** 202 (`QueryStatus`, code `333334`) and 408. */
export interface QueryStatus {
  code?: string;
  sqlState?: string;
  message?: string;
  statementHandle: string;
  statementStatusUrl?: string;
  createdOn?: number;
}

/** 422 (`QueryFailureStatus`). */
export interface QueryFailureStatus {
  code?: string;
  sqlState?: string;
  message: string;
  statementHandle: string;
  statementStatusUrl?: string;
  createdOn?: number;
}

/** The codes this client acts on. */
export const RESULT_CODES = {
  /** 200: statement executed. */
  success: '090001',
  /** 202: still running; poll the status URL. */
  inProgress: '333334',
} as const;
