local secrets = import 'secrets.libsonnet';
{
  database: {
    user: 'orders',
    password: secrets.db_password,
    replicaPassword: std.extVar('REPLICA_PASSWORD'),
  },
  grafana: {
    adminPassword: 'JnEus2TvLQTosiA7Vy',
  },
}
