<?php
// Throws a chained exception through a method, a closure called by array_map, a static call and a
// class under vendor/, then prints what Heartwatch's Laravel webhook receives.
//   php report.php        the payload with getTrace() arrays (as docs/capture.md's reporter posts it)
//   php report.php text   the same with getTraceAsString() text as the trace
//   php report.php throw  leaves the exception uncaught: PHP prints its fatal error

require __DIR__ . '/vendor/acme/http/src/Client.php';
require __DIR__ . '/app/Billing/Gateway.php';
require __DIR__ . '/app/Billing/InvoiceFailed.php';
require __DIR__ . '/app/Billing/InvoiceService.php';

function exception_payload(Throwable $e, bool $asText, int $depth = 0): array
{
    $previous = $e->getPrevious();

    return array_filter([
        'class' => get_class($e),
        'message' => $e->getMessage(),
        'code' => $e->getCode(),
        'file' => $e->getFile(),
        'line' => $e->getLine(),
        'trace' => $asText ? $e->getTraceAsString() : array_map(
            fn (array $frame) => array_intersect_key($frame, array_flip(['file', 'line', 'function', 'class', 'type'])),
            $e->getTrace()
        ),
        'previous' => $previous && $depth < 9 ? exception_payload($previous, $asText, $depth + 1) : null,
    ], fn ($value) => $value !== null);
}

function run(): void
{
    $service = new App\Billing\InvoiceService(new Acme\Http\Client());
    $service->send(['hosting', 'support']);
}

$mode = $argv[1] ?? 'array';
if ($mode === 'throw') {
    run();
}
try {
    run();
} catch (Throwable $e) {
    $payload = ['exception' => exception_payload($e, $mode === 'text'), 'level' => 'error', 'environment' => 'testing'];
    echo json_encode($payload, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
}
