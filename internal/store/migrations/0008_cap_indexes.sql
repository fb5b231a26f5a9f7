-- The row caps count and trim PENDING rows only. With the status in the index, those statements read the
-- pending rows of one IP, browser or client (bounded by the caps) instead of every unexpired row, which a
-- busy IP or a long-lived browser accumulates by the thousand as sign-ins complete.
DROP INDEX login_requests_ip;
CREATE INDEX login_requests_ip ON login_requests (tenant_id, ip_key, status, expires_at);
DROP INDEX login_requests_browser;
CREATE INDEX login_requests_browser ON login_requests (tenant_id, browser_hash, status, created_at);
DROP INDEX device_codes_ip;
CREATE INDEX device_codes_ip ON device_codes (tenant_id, ip_key, status, expires_at);
DROP INDEX device_codes_client;
CREATE INDEX device_codes_client ON device_codes (tenant_id, client_id, status, expires_at);
