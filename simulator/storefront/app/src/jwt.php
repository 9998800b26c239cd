<?php
// Customer REST tokens as Magento_JwtUserToken issues them (2.4.4+): HS256 JWTs signed with the newest key of
// env.php crypt/key (the key's index in the list is the `kid`), one hour lifetime, revocable per customer.
// A node holding another key list refuses the token: 401, as for any invalid token.
declare(strict_types=1);

const GL_TOKEN_LIFETIME_S = 3600;
const GL_USER_TYPE_CUSTOMER = 3;

function gl_b64url(string $raw): string
{
    return rtrim(strtr(base64_encode($raw), '+/', '-_'), '=');
}

function gl_b64url_decode(string $s): string|false
{
    return base64_decode(strtr($s, '-_', '+/') . str_repeat('=', (4 - strlen($s) % 4) % 4), true);
}

/** @return string[] the key list, oldest first */
function gl_crypt_keys(): array
{
    $raw = (string)(gl_config()['crypt']['key'] ?? '');
    return array_values(array_filter(array_map('trim', preg_split('/\s+/', $raw)), 'strlen'));
}

function gl_jwt_issue(int $customerId): string
{
    $keys = gl_crypt_keys();
    if (!$keys) {
        throw new RuntimeException('env.php has no crypt/key: cannot sign tokens');
    }
    $kid = (string)(count($keys) - 1);
    $now = time();
    $h = gl_b64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT', 'kid' => $kid]));
    $p = gl_b64url(json_encode(['kid' => $kid, 'uid' => $customerId, 'utypid' => GL_USER_TYPE_CUSTOMER,
                                'iat' => $now, 'exp' => $now + GL_TOKEN_LIFETIME_S]));
    return "$h.$p." . gl_b64url(hash_hmac('sha256', "$h.$p", $keys[(int)$kid], true));
}

/** The customer id a valid token names, or null (bad signature, unknown key, expired, revoked). */
function gl_jwt_customer(string $token): ?int
{
    $parts = explode('.', $token);
    if (count($parts) !== 3) {
        return null;
    }
    [$h, $p, $sig] = $parts;
    $header = json_decode((string)gl_b64url_decode($h), true);
    $claims = json_decode((string)gl_b64url_decode($p), true);
    if (!is_array($header) || !is_array($claims) || ($header['alg'] ?? '') !== 'HS256') {
        return null;
    }
    $keys = gl_crypt_keys();
    $kid = $header['kid'] ?? '';
    if (!is_string($kid) || !ctype_digit($kid) || !isset($keys[(int)$kid])) {
        return null;
    }
    $expected = gl_b64url(hash_hmac('sha256', "$h.$p", $keys[(int)$kid], true));
    if (!hash_equals($expected, $sig)) {
        return null;
    }
    if (($claims['utypid'] ?? 0) !== GL_USER_TYPE_CUSTOMER || (int)($claims['exp'] ?? 0) < time()) {
        return null;
    }
    $uid = (int)($claims['uid'] ?? 0);
    $revoked = gl_q('SELECT revoke_before FROM jwt_auth_revoked WHERE user_type_id = ? AND user_id = ?',
        [GL_USER_TYPE_CUSTOMER, $uid])->fetchColumn();
    if ($revoked !== false && (int)$claims['iat'] <= (int)$revoked) {
        return null;
    }
    return $uid ?: null;
}
