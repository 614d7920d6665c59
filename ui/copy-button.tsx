import { useState } from 'preact/hooks';

/** Copies `text` to the clipboard and says whether it did. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  const copy = (): void => {
    navigator.clipboard.writeText(text).then(
      () => setSaid('Copied'),
      () => setSaid('Could not copy: select the text and copy it by hand.'),
    );
  };
  return (
    <span class="copy">
      <button type="button" onClick={copy}>{label}</button>
      <span role="status" class="note">{said}</span>
    </span>
  );
}
