-- docker-compose.yml only: rotor's admin account administers users, as the native stack's does
-- (dev/local-stack/services/mariadb.ts). The image created it from MARIADB_USER/MARIADB_PASSWORD_FILE.
GRANT ALL PRIVILEGES ON *.* TO 'rotor'@'%' WITH GRANT OPTION;
