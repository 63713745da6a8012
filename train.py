"""Train the digitrec CNN on MNIST: ``python train.py --help`` lists every setting."""

from digitrec.training import TrainConfig, train


def main() -> None:
    cfg = TrainConfig.from_args()
    train(cfg)
    from digitrec.evaluate import evaluate_and_report

    evaluate_and_report(cfg.out)
    if cfg._push_to_hub:
        from digitrec.hub import push

        push(cfg._push_to_hub, folder=cfg.out)


if __name__ == "__main__":
    main()
