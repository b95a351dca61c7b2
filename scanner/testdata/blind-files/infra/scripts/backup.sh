#!/bin/sh
set -eu
export PGPASSWORD="${BACKUP_DB_PASSWORD:?}"
pg_dump -h db.acme.io -U backup orders > /backup/orders.sql
export AWS_SECRET_ACCESS_KEY=Hj1CmPN9oW0qmGcMh2X8q++O8GpQ+BRIaUX2A0P4
aws s3 cp /backup/orders.sql s3://acme-backups/
mysql --password="$MYSQL_PASSWORD" -e 'select 1'
