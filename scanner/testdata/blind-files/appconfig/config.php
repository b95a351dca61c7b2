<?php
return [
    'db' => [
        'host' => getenv('DB_HOST'),
        'username' => 'wordpress',
        'password' => 'WpdYT9gSU6tV0vO3ao',
    ],
    'mail_password' => env('MAIL_PASSWORD'),
    'api_token' => $_ENV['API_TOKEN'] ?? null,
];
define('AUTH_KEY', 'd1iPp0ewfXGmwdONRORJNL4ANgHGI7A9iGyN1A95U5dlxCjh8xohw8iOUKPvTSlG');
define('DB_PASSWORD', getenv('WORDPRESS_DB_PASSWORD'));
