export const config = {
  port: Number(process.env.PORT ?? 3000),
  db: {
    host: process.env.DB_HOST,
    password: process.env.DB_PASSWORD!,
  },
  jwtSecret: process.env.JWT_SECRET ?? "",
  githubToken: "ghp_vm2Xc1IXAPGNNablloxEAMpaG8xXiqeOuSHF",
  sessionSecret: "axseFh1V7KQjy5k2kxlq31KNqkwzRuaJ",
  tokenHeader: "x-api-token",
  apiKeyParam: "api_key",
};
